package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/rules"
)

// The tests of api/openapi.json: the document is well formed, its examples
// fit its schemas, it describes exactly the routes New registers with the
// roles RequiredRole gives them, and what the handlers answer fits it.
//
// To describe a new route: add its path item to api/openapi.json (reusing
// components), and an exchange for it to openAPIExchanges below; see
// docs/api.md, "The OpenAPI description".

// openAPIBase is the address the description is loaded under in tests; it
// only anchors the JSON pointers of its $refs.
const openAPIBase = "https://sanse.invalid/openapi.json"

// httpMethods are the operations a path item may hold, in OpenAPI's names.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPISpec is the parsed description and a validator over its schemas.
//
// The validator works on a stricter copy: every object schema that says
// nothing about other members gets additionalProperties: false, so that a
// member a handler sends, or an example holds, must be described. The
// published document leaves objects open, so that clients ignore members
// added later.
type openAPISpec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema // by JSON pointer
}

func loadOpenAPI(t *testing.T) *openAPISpec {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIDocument))
	require.NoError(t, err, "api/openapi.json is not JSON")
	root, ok := doc.(map[string]any)
	require.True(t, ok, "api/openapi.json is not a JSON object")

	strict, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIDocument))
	require.NoError(t, err)
	closeObjects(strict)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	require.NoError(t, c.AddResource(openAPIBase, strict))
	return &openAPISpec{doc: root, compiler: c, compiled: map[string]*jsonschema.Schema{}}
}

// closeObjects sets additionalProperties: false on every object schema in v
// that has properties and says nothing about other members. Examples are
// data, not schemas, and are left alone.
func closeObjects(v any) {
	switch n := v.(type) {
	case map[string]any:
		_, props := n["properties"].(map[string]any)
		_, add := n["additionalProperties"]
		_, uneval := n["unevaluatedProperties"]
		if props && n["type"] == "object" && !add && !uneval {
			n["additionalProperties"] = false
		}
		for k, c := range n {
			if k != "example" && k != "examples" {
				closeObjects(c)
			}
		}
	case []any:
		for _, c := range n {
			closeObjects(c)
		}
	}
}

// pointer returns the JSON pointer of the tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteString("/")
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// at returns the node at the JSON pointer ptr of the document.
func (s *openAPISpec) at(t *testing.T, ptr string) any {
	t.Helper()
	var node any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			c, ok := n[tok]
			require.True(t, ok, "%s: no %q", ptr, tok)
			node = c
		case []any:
			i, err := strconv.Atoi(tok)
			require.NoError(t, err, ptr)
			require.Less(t, i, len(n), ptr)
			node = n[i]
		default:
			t.Fatalf("%s: %q is inside a scalar", ptr, tok)
		}
	}
	return node
}

// deref follows the $ref of the object at ptr, if it has one, and returns
// the object and its pointer.
func (s *openAPISpec) deref(t *testing.T, ptr string) (map[string]any, string) {
	t.Helper()
	for range 10 {
		n, ok := s.at(t, ptr).(map[string]any)
		require.True(t, ok, "%s is not an object", ptr)
		r, ok := n["$ref"].(string)
		if !ok {
			return n, ptr
		}
		require.True(t, strings.HasPrefix(r, "#/"), "%s: $ref %q is not in the document", ptr, r)
		ptr = strings.TrimPrefix(r, "#")
	}
	t.Fatalf("%s: $ref loop", ptr)
	return nil, ""
}

// schema returns the compiled schema at the JSON pointer ptr.
func (s *openAPISpec) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	if sch := s.compiled[ptr]; sch != nil {
		return sch
	}
	// Each token is escaped for the URL's fragment; the compiler unescapes it.
	var frag strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		frag.WriteString("/" + url.PathEscape(tok))
	}
	sch, err := s.compiler.Compile(openAPIBase + "#" + frag.String())
	require.NoError(t, err, "schema %s", ptr)
	s.compiled[ptr] = sch
	return sch
}

// validate checks v, decoded by jsonschema.UnmarshalJSON, against the schema
// at ptr.
func (s *openAPISpec) validate(t *testing.T, ptr string, v any, what string) {
	t.Helper()
	if err := s.schema(t, ptr).Validate(v); err != nil {
		t.Errorf("%s does not fit the schema %s:\n%v", what, ptr, err)
	}
}

// validateJSON decodes data and validates it against the schema at ptr.
func (s *openAPISpec) validateJSON(t *testing.T, ptr string, data []byte, what string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err, "%s is not JSON: %s", what, data)
	s.validate(t, ptr, v, what)
}

// openAPIOperation is one operation of the description.
type openAPIOperation struct {
	method string // upper case, as in HTTP
	path   string // the path template, /api/v1/schools/{id}
	ptr    string
	op     map[string]any
}

func (o openAPIOperation) String() string { return o.method + " " + o.path }

// operations returns every operation of the description, by path and method.
func (s *openAPISpec) operations(t *testing.T) []openAPIOperation {
	t.Helper()
	paths, ok := s.doc["paths"].(map[string]any)
	require.True(t, ok, "paths")
	var out []openAPIOperation
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, ok := paths[p].(map[string]any)
		require.True(t, ok, "paths.%s", p)
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			out = append(out, openAPIOperation{method: strings.ToUpper(m), path: p, ptr: pointer("paths", p, m), op: op})
		}
	}
	return out
}

// pathParam matches a parameter of a path template.
var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// openAPIPathOf writes an echo route's path as an OpenAPI path template:
// :id is {id}, and the wildcard * (the rest of the path) is {file}.
func openAPIPathOf(route string) string {
	segs := strings.Split(route, "/")
	for i, seg := range segs {
		switch {
		case strings.HasPrefix(seg, ":"):
			segs[i] = "{" + seg[1:] + "}"
		case seg == "*":
			segs[i] = "{file}"
		}
	}
	return strings.Join(segs, "/")
}

// echoRouteOf is the inverse of openAPIPathOf.
func echoRouteOf(path string) string {
	return pathParam.ReplaceAllStringFunc(path, func(m string) string {
		if m == "{file}" {
			return "*"
		}
		return ":" + strings.Trim(m, "{}")
	})
}

// operation returns the operation that serves a request of method to the
// request path p: a template's {param} matches one segment, {file} the rest.
func (s *openAPISpec) operation(t *testing.T, method, p string) openAPIOperation {
	t.Helper()
	for _, o := range s.operations(t) {
		if o.method == method && templateMatches(o.path, p) {
			return o
		}
	}
	t.Fatalf("no operation describes %s %s", method, p)
	return openAPIOperation{}
}

func templateMatches(template, p string) bool {
	tsegs, psegs := strings.Split(template, "/"), strings.Split(p, "/")
	for i, seg := range tsegs {
		switch {
		case seg == "{file}" && i == len(tsegs)-1:
			return len(psegs) > i && psegs[i] != ""
		case i >= len(psegs):
			return false
		case pathParam.MatchString(seg):
			if psegs[i] == "" {
				return false
			}
		case seg != psegs[i]:
			return false
		}
	}
	return len(tsegs) == len(psegs)
}

// checkResponse checks an answer of op against the description: its status
// is described, and its body, when the description gives JSON, fits the
// schema.
func (s *openAPISpec) checkResponse(t *testing.T, op openAPIOperation, code int, header http.Header, body []byte) {
	t.Helper()
	what := fmt.Sprintf("%s answered %d", op, code)
	resps, ok := op.op["responses"].(map[string]any)
	require.True(t, ok, "%s has no responses", op)
	if _, ok := resps[strconv.Itoa(code)]; !ok {
		t.Errorf("%s, which its description does not list", what)
		return
	}
	resp, ptr := s.deref(t, pointer("paths", op.path, strings.ToLower(op.method), "responses", strconv.Itoa(code)))
	contents, hasContent := resp["content"].(map[string]any)
	if op.method == http.MethodHead {
		require.Empty(t, body, "%s with a body", what)
		return
	}
	if !hasContent {
		require.Empty(t, body, "%s with a body, which its description does not have", what)
		return
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	require.NoError(t, err, "%s with Content-Type %q", what, header.Get("Content-Type"))
	key := mt
	if _, ok := contents[mt]; !ok {
		key = "*/*"
		_, ok := contents[key]
		require.True(t, ok, "%s as %s, which its description does not list", what, mt)
	}
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		s.validateJSON(t, ptr+pointer("content", key, "schema"), body, what)
	}
}

// TestOpenAPIDocument checks the description as a document: the parts that
// tools rely on are there and consistent, every $ref resolves, every schema
// compiles (against JSON Schema 2020-12), and every example fits its schema.
func TestOpenAPIDocument(t *testing.T) {
	spec := loadOpenAPI(t)
	require.Regexp(t, `^3\.1\.\d+$`, spec.doc["openapi"])
	info, _ := spec.doc["info"].(map[string]any)
	require.NotEmpty(t, info["title"])
	require.NotEmpty(t, info["version"])

	schemes, _ := spec.at(t, "/components/securitySchemes").(map[string]any)
	tags := map[string]bool{}
	for _, tag := range spec.doc["tags"].([]any) {
		tags[tag.(map[string]any)["name"].(string)] = true
	}
	ids := map[string]string{}
	for _, o := range spec.operations(t) {
		t.Run(o.String(), func(t *testing.T) {
			id, _ := o.op["operationId"].(string)
			require.NotEmpty(t, id, "operationId")
			require.NotContains(t, ids, id, "operationId %q is also %s's", id, ids[id])
			ids[id] = o.String()
			require.NotEmpty(t, o.op["summary"])
			require.NotEmpty(t, o.op["description"])
			opTags, _ := o.op["tags"].([]any)
			require.NotEmpty(t, opTags)
			for _, tag := range opTags {
				require.True(t, tags[tag.(string)], "tag %q is not declared", tag)
			}

			// Every parameter of the path template is declared, and no other.
			declared := map[string]bool{}
			params, _ := o.op["parameters"].([]any)
			for i := range params {
				p, _ := spec.deref(t, o.ptr+pointer("parameters", strconv.Itoa(i)))
				require.NotNil(t, p["schema"], "parameter %v has no schema", p["name"])
				if p["in"] == "path" {
					require.Equal(t, true, p["required"], "path parameter %v", p["name"])
					declared[p["name"].(string)] = true
				}
			}
			var inPath []string
			for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
				inPath = append(inPath, m[1])
			}
			require.ElementsMatch(t, inPath, slices.Collect(maps.Keys(declared)), "path parameters")

			resps, _ := o.op["responses"].(map[string]any)
			require.NotEmpty(t, resps)
			for code := range resps {
				require.Regexp(t, `^[1-5]\d\d$`, code)
				r, _ := spec.deref(t, o.ptr+pointer("responses", code))
				require.NotEmpty(t, r["description"], "response %s", code)
			}

			sec, ok := o.op["security"].([]any)
			require.True(t, ok, "every operation says what it needs (security), [] when nothing")
			for _, req := range sec {
				for name := range req.(map[string]any) {
					require.Contains(t, schemes, name, "security scheme")
				}
			}
		})
	}

	// Every $ref points into the document.
	walkJSON(spec.doc, "", func(ptr string, n map[string]any) {
		if r, ok := n["$ref"].(string); ok {
			require.True(t, strings.HasPrefix(r, "#/"), "%s: $ref %q", ptr, r)
			spec.at(t, strings.TrimPrefix(r, "#"))
		}
	})

	// Every schema compiles.
	for name := range spec.at(t, "/components/schemas").(map[string]any) {
		spec.schema(t, pointer("components", "schemas", name))
	}

	// Every example fits its schema: of a media type (example, examples),
	// of a parameter (example), of a schema (examples, a list).
	examples := 0
	walkJSON(spec.doc, "", func(ptr string, n map[string]any) {
		if strings.Contains(ptr, "/example") {
			return // inside an example: data, not the document
		}
		if list, ok := n["examples"].([]any); ok {
			for i, ex := range list {
				spec.validate(t, ptr, ex, fmt.Sprintf("example %d of %s", i, ptr))
				examples++
			}
		}
		if _, ok := n["schema"]; !ok {
			return
		}
		schemaPtr := ptr + "/schema"
		if ex, ok := n["example"]; ok {
			spec.validate(t, schemaPtr, ex, "the example of "+ptr)
			examples++
		}
		if exs, ok := n["examples"].(map[string]any); ok {
			for name := range exs {
				ex, _ := spec.deref(t, ptr+pointer("examples", name))
				require.Contains(t, ex, "value", "%s: example %s", ptr, name)
				spec.validate(t, schemaPtr, ex["value"], fmt.Sprintf("example %s of %s", name, ptr))
				examples++
			}
		}
		if events, ok := n["x-sanse-events"].(map[string]any); ok {
			checkStreamExample(t, spec, ptr, n["example"], events)
		}
	})
	require.Greater(t, examples, 50, "examples checked")
}

// checkStreamExample checks that the example of an event stream holds only
// events the media type names, each with data that fits the event's schema.
func checkStreamExample(t *testing.T, spec *openAPISpec, ptr string, example any, events map[string]any) {
	t.Helper()
	text, ok := example.(string)
	require.True(t, ok, "%s: the example of an event stream is its text", ptr)
	br := bufio.NewReader(strings.NewReader(text))
	seen := 0
	for {
		b, err := readBlock(br)
		if err != nil {
			break
		}
		if b.event == "" {
			continue
		}
		require.Contains(t, events, b.event, "%s: event %q", ptr, b.event)
		spec.validateJSON(t, ptr+pointer("x-sanse-events", b.event), []byte(b.data), "the example's "+b.event+" event")
		seen++
	}
	require.Positive(t, seen, "%s: the example has no event", ptr)
}

// walkJSON calls fn with every object of v and its JSON pointer, parents
// first.
func walkJSON(v any, ptr string, fn func(ptr string, n map[string]any)) {
	switch n := v.(type) {
	case map[string]any:
		fn(ptr, n)
		for _, k := range slices.Sorted(maps.Keys(n)) {
			walkJSON(n[k], ptr+pointer(k), fn)
		}
	case []any:
		for i, c := range n {
			walkJSON(c, ptr+pointer(strconv.Itoa(i)), fn)
		}
	}
}

// recorded returns the entries written so far.
func (f *fakeAudit) recorded() []auth.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.entries)
}

// Tokens of the server of the OpenAPI tests.
const (
	adminToken    = "sanse_admin"
	operatorToken = "sanse_operator"
	viewerToken   = "sanse_viewer"
)

// openAPIServer is a server with every option set, as `sanse serve` runs it
// (authentication on), over fakes. An option that adds routes must be set in
// newOpenAPIServer, or its routes escape TestOpenAPIDescribesEveryRoute.
type openAPIServer struct {
	*Server
	hub    *Hub
	reload *fakeReload
	ready  *error // the answer of the kafka ready check
}

func newOpenAPIServer(t *testing.T) *openAPIServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	hub := NewHub(0, reg)
	reload := &fakeReload{}
	var kafka error
	audit := &fakeAudit{}
	ext, err := url.Parse("http://example.com")
	require.NoError(t, err)
	timeline := &fakeTimeline{changes: []engine.LevelChange{
		{SchoolID: "JX-NH-0001", At: at("2025-06-08T10:20:00+08:00"), From: engine.LevelGreen, To: engine.LevelYellow,
			Cause:   engine.Cause{How: engine.RiskOpened, Rule: "canteen.no_hat", Title: "后厨人员未戴帽", Severity: engine.SeverityMedium},
			EventID: "ev-canteen-1", ActiveRisks: 1},
		{SchoolID: "JX-NH-0001", At: at("2025-06-09T09:00:00+08:00"), From: engine.LevelYellow, To: engine.LevelGreen,
			Cause: engine.Cause{How: engine.RiskExpired, Rule: "canteen.no_hat", Title: "后厨人员未戴帽", Severity: engine.SeverityMedium}},
	}}
	checks := &fakeChecks{counts: testCheckCounts()}
	levelsAt := &fakeLevelsAt{changes: pastChanges()}
	s := newTestServer(t, Options{
		Registerer: reg,
		Gatherer:   reg,
		Schools:    pendingSchools(),
		Timeline:   timeline.timeline,
		Ready: []ReadyCheck{
			{Name: "kafka", Check: func(context.Context) error { return kafka }},
			{Name: "clickhouse", Check: func(context.Context) error { return nil }},
		},
		Auth: &AuthOptions{
			Verifier: fakeVerifier{
				adminToken:    {Name: "province-admin", Role: auth.RoleAdmin, Scope: auth.ScopeAll},
				operatorToken: {Name: "nanhu-office", Role: auth.RoleOperator, Scope: auth.Scope{Districts: []string{"南湖区"}}},
				viewerToken:   {Name: "nh0001-viewer", Display: "王老师", Role: auth.RoleViewer, Scope: auth.Scope{Schools: []string{"JX-NH-0001"}}},
			},
			Audit:       audit.write,
			AuditLog:    func(context.Context, auth.AuditFilter) ([]auth.Entry, error) { return audit.recorded(), nil },
			ExternalURL: ext,
		},
		RulesStatus:   func() rules.Status { return testRulesStatus },
		ValidateRules: rules.Validate,
		Reload:        reload.reload,
		Resolve:       (&fakeResolve{view: resolvedView()}).resolve,
		Dispose:       (&fakeDispose{view: checkedView()}).dispose,
		CheckCounts:   checks.checkCounts,
		LevelsAt:      levelsAt.levelsAt,
		Alerts:        testAlerts(),
		Hazards:       testHazards(),
		Stream:        hub,
		ColourCounts:  openAPIColourCounts,
		Compliance:    openAPICompliance,
		Reports:       testReports(),
	})
	return &openAPIServer{Server: s, hub: hub, reload: reload, ready: &kafka}
}

// openAPIColourCounts answers for the dashboard of the OpenAPI tests that,
// of the schools asked for, one was red at every other moment and one
// yellow, the others green.
func openAPIColourCounts(_ context.Context, ids []string, at []time.Time) ([]ColourCount, error) {
	out := make([]ColourCount, len(at))
	for i, t := range at {
		red := min(i%2, len(ids))
		yellow := min(1, len(ids)-red)
		out[i] = ColourCount{At: t, Red: red, Yellow: yellow, Green: len(ids) - red - yellow}
	}
	return out, nil
}

// openAPICompliance answers for the dashboard of the OpenAPI tests that the
// morning health check was done everywhere and the food sample missed at one
// school, as the reports count them (100 % when nothing was owed).
func openAPICompliance(_ context.Context, schools []*engine.School, _ time.Time) ([]RoutineCompliance, error) {
	routine := func(rule, title string, done int) RoutineCompliance {
		r := RoutineCompliance{Rule: rule, Title: title, Due: len(schools), Done: max(done, 0), Percent: 100}
		if r.Due > 0 {
			r.Percent = 100 * float64(r.Done) / float64(r.Due)
		}
		return r
	}
	return []RoutineCompliance{
		routine("canteen.no_health_check_by_deadline", "截至 08:30 食堂从业人员未晨检", len(schools)),
		routine("canteen.no_sample_by_deadline", "截至 13:00 未登记留样", len(schools)-1),
	}, nil
}

// TestOpenAPIDescribesEveryRoute checks that the description and the routes
// of a server with every option set are the same set of methods and paths.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	spec := loadOpenAPI(t)
	s := newOpenAPIServer(t)

	registered := map[string]bool{}
	for _, r := range s.echo.Routes() {
		registered[r.Method+" "+openAPIPathOf(r.Path)] = true
	}
	described := map[string]bool{}
	for _, o := range spec.operations(t) {
		described[o.String()] = true
	}
	for _, r := range slices.Sorted(maps.Keys(registered)) {
		method, p, _ := strings.Cut(r, " ")
		if !described[r] {
			t.Errorf("%s is served but not described: add paths[%q].%s to api/openapi.json and an exchange for it "+
				"to openAPIExchanges (docs/api.md, \"The OpenAPI description\")", r, p, strings.ToLower(method))
		}
	}
	for _, d := range slices.Sorted(maps.Keys(described)) {
		if !registered[d] {
			t.Errorf("%s is described in api/openapi.json but not served", d)
		}
	}
}

// TestOpenAPISecurity checks what each operation says it needs against the
// server: the role of every operation that needs a token is RequiredRole's,
// an operation open to anyone answers a request without a token, and one
// that needs a token refuses it with 401.
func TestOpenAPISecurity(t *testing.T) {
	spec := loadOpenAPI(t)
	s := newOpenAPIServer(t)
	for _, o := range spec.operations(t) {
		t.Run(o.String(), func(t *testing.T) {
			sec, _ := o.op["security"].([]any)
			anonymous := len(sec) == 0
			for _, req := range sec {
				r := req.(map[string]any)
				if len(r) == 0 {
					anonymous = true
				}
				for _, roles := range r {
					require.Equal(t, []any{string(RequiredRole(o.method, echoRouteOf(o.path)))}, roles,
						"the roles of %s are RequiredRole's (api/auth.go)", o)
				}
			}
			target := pathParam.ReplaceAllStringFunc(o.path, func(m string) string {
				if m == "{file}" {
					return "app.js"
				}
				return "JX-NH-0001"
			})
			rec := serve(t, s.Handler(), o.method, target)
			if anonymous {
				require.NotEqual(t, http.StatusUnauthorized, rec.Code, "%s is described as open: %s", o, rec.Body.String())
			} else {
				require.Equal(t, http.StatusUnauthorized, rec.Code, "%s is described as needing a token", o)
			}
		})
	}
}

// openAPIExchange is one request to the server of the OpenAPI tests and the
// status it must be answered with.
type openAPIExchange struct {
	method, target string
	// token is sent as a bearer token; adminToken when empty, none when "-".
	token string
	// contentType and body of the request; application/json when a body
	// is given without a type.
	contentType, body string
	header            map[string]string
	// before runs before the request.
	before func(s *openAPIServer)
	want   int
}

// openAPIExchanges are requests for every operation of the description,
// each answered as the description says. Every operation needs at least one
// answered with a 2xx.
var openAPIExchanges = []openAPIExchange{
	{method: "GET", target: "/api/v1/map", want: 200},
	{method: "GET", target: "/api/v1/map?district=" + url.QueryEscape("南湖区") + "&level=red,yellow", token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/map?at=2025-06-08T12:00:00%2B08:00", want: 200},
	{method: "GET", target: "/api/v1/map?format=compact&level=red", token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/map?format=compact&at=2025-06-08T12:00:00%2B08:00", want: 200},
	{method: "GET", target: "/api/v1/map?format=xml", want: 400},
	{method: "GET", target: "/api/v1/map", header: map[string]string{"If-None-Match": "*"}, want: 304},
	{method: "GET", target: "/api/v1/map?level=blue", want: 400},
	{method: "GET", target: "/api/v1/map", token: "-", want: 401},
	{method: "GET", target: "/api/v1/map", token: "sanse_unknown", want: 401},
	{method: "GET", target: "/api/v1/map", header: map[string]string{"Host": "sanse.attacker.example"}, want: 421},
	{method: "GET", target: "/api/v1/schools/JX-NH-0001", want: 200},
	{method: "GET", target: "/api/v1/schools/JX-NH-0003", want: 200},
	{method: "GET", target: "/api/v1/schools/JX-XZ-0001", token: operatorToken, want: 404},
	{method: "GET", target: "/api/v1/schools/JX-NH-0001/timeline?from=2025-06-01T00:00:00%2B08:00&to=2025-06-10T00:00:00%2B08:00", want: 200},
	{method: "GET", target: "/api/v1/schools/JX-NH-0001/timeline?from=yesterday", want: 400},
	{method: "POST", target: "/api/v1/schools/JX-NH-0001/risks/resolve", token: operatorToken,
		body: `{"rule": "visitor.blacklist", "comment": "已核实：来访者为学生家长，名单比对有误"}`, want: 200},
	{method: "POST", target: "/api/v1/schools/JX-NH-0001/risks/resolve", token: viewerToken,
		body: `{"rule": "visitor.blacklist", "comment": "已核实"}`, want: 403},
	{method: "POST", target: "/api/v1/schools/JX-NH-0001/risks/resolve", body: `{"rule": "visitor.blacklist"}`, want: 400},
	{method: "POST", target: "/api/v1/schools/JX-NH-0001/risks/resolve", contentType: "text/plain", body: `rule`, want: 415},
	{method: "POST", target: "/api/v1/schools/JX-NH-0003/risks/dispose", token: operatorToken,
		body: `{"rule": "canteen.rodent", "state": "false_alarm", "comment": "回看录像：是一只猫"}`, want: 200},
	{method: "GET", target: "/api/v1/checks?from=2025-06-01&to=2025-06-10", want: 200},
	{method: "GET", target: "/api/v1/checks?from=2025-06-01&to=2025-06-10", token: operatorToken, want: 200},
	// Before the acts below: alert:1 is still firing and HZ-01 overdue and
	// under supervision.
	{method: "GET", target: "/api/v1/dashboard", want: 200},
	{method: "GET", target: "/api/v1/dashboard?district=" + url.QueryEscape("南湖区") + "&town=" + url.QueryEscape("城南街道,新丰镇") +
		"&source=canteen&source=drowning&days=30", token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/dashboard?source=canteen", token: viewerToken, want: 200},
	{method: "GET", target: "/api/v1/dashboard?days=14", want: 400},
	{method: "GET", target: "/api/v1/dashboard?source=canteen,weather", want: 400},
	{method: "GET", target: "/api/v1/reports", want: 200},
	{method: "GET", target: "/api/v1/reports?district=" + url.QueryEscape("南湖区") + "&kind=daily&scope=district&from=2025-06-01&to=2025-06-30&limit=10",
		token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/reports?kind=yearly", want: 400},
	{method: "GET", target: "/api/v1/reports/r-nanhu", want: 200},
	{method: "GET", target: "/api/v1/reports/r-nanhu?format=csv", token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/reports/r-nanhu?format=pdf&inline=true", want: 200},
	{method: "GET", target: "/api/v1/reports/r-school?format=pdf", want: 404},
	{method: "GET", target: "/api/v1/reports/r-xiuzhou", token: operatorToken, want: 404},
	{method: "GET", target: "/api/v1/reports/r-nanhu?format=docx", want: 400},
	{method: "POST", target: "/api/v1/reports", token: operatorToken,
		body: `{"kind": "custom", "district": "南湖区", "from": "2025-06-01", "to": "2025-06-09"}`, want: 201},
	{method: "POST", target: "/api/v1/reports", token: operatorToken,
		body: `{"district": "秀洲区", "from": "2025-06-01", "to": "2025-06-09"}`, want: 403},
	{method: "POST", target: "/api/v1/reports", token: operatorToken, body: `{"district": "南湖区", "from": "2025-06-01"}`, want: 400},
	{method: "POST", target: "/api/v1/reports", token: viewerToken,
		body: `{"school_id": "JX-NH-0001", "from": "2025-06-01", "to": "2025-06-09"}`, want: 403},
	{method: "GET", target: "/api/v1/meta", token: viewerToken, want: 200},
	{method: "GET", target: "/api/v1/stream", want: 200},
	{method: "GET", target: "/api/v1/alerts", want: 200},
	{method: "GET", target: "/api/v1/alerts?status=firing,acknowledged&level=red", token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/alerts?status=open", want: 400},
	{method: "GET", target: "/api/v1/alerts/alert:1", want: 200},
	{method: "POST", target: "/api/v1/alerts/alert:1/ack", token: operatorToken, body: `{"comment": "已到场处置"}`, want: 200},
	{method: "POST", target: "/api/v1/alerts/alert:1/resolve", token: operatorToken, body: `{"comment": "人员已带离"}`, want: 200},
	{method: "POST", target: "/api/v1/alerts/alert:1/resolve", token: operatorToken, body: `{"comment": "再次解除"}`, want: 409},
	{method: "POST", target: "/api/v1/alerts/alert:2/ack", token: operatorToken, body: `{}`, want: 404},
	{method: "GET", target: "/api/v1/hazards", want: 200},
	{method: "GET", target: "/api/v1/hazards?status=open,rectifying&overdue=true", token: operatorToken, want: 200},
	{method: "GET", target: "/api/v1/hazards/HZ-01", want: 200},
	{method: "GET", target: "/api/v1/hazards/HZ-NONE", want: 404},
	{method: "POST", target: "/api/v1/hazards", token: operatorToken, body: `{"school_id": "JX-NH-0001",
		"title": "学校东侧河道护栏破损", "category": "防溺水", "level": "medium", "responsible": "王副校长", "deadline": "72h",
		"comment": "巡查发现", "evidence": [{"kind": "link", "value": "https://files.example.cn/p/1.jpg"}]}`, want: 201},
	{method: "POST", target: "/api/v1/hazards/HZ-01/transition", token: operatorToken,
		body: `{"action": "start", "comment": "已联系施工队"}`, want: 200},
	{method: "POST", target: "/api/v1/hazards/HZ-01/transition", token: operatorToken,
		body: `{"action": "verify", "comment": "复查合格"}`, want: 409},
	{method: "GET", target: "/api/v1/rules", token: viewerToken, want: 200},
	{method: "POST", target: "/api/v1/rules/validate?file=canteen.yaml", contentType: "application/yaml",
		body: "rules:\n  - id: canteen.fridge\n    source: canteen\n    when: event.celsius > 8\n    level: medium\n    title: 冷藏温度超标\n",
		want: 200},
	{method: "POST", target: "/api/v1/rules/validate", contentType: "application/yaml",
		body: "rules:\n  - id: canteen.fridge\n    source: canteen\n    when: event.celsius >\n    levl: medium\n", want: 422},
	{method: "POST", target: "/api/v1/rules/validate", token: operatorToken, contentType: "application/yaml", body: "rules: []\n", want: 403},
	{method: "POST", target: "/-/reload", want: 200},
	{method: "POST", target: "/-/reload", before: func(s *openAPIServer) {
		s.reload.mu.Lock()
		s.reload.err = errors.Join(
			errors.New(`/etc/sanse/rules/canteen.yaml:5:17: rule "visitor.misspelt": when: unknown field event.watchlst`),
			errors.New(`/etc/sanse/rules/canteen.yaml:12:1: yaml: mapping values are not allowed in this context`))
		s.reload.mu.Unlock()
	}, want: 500},
	{method: "GET", target: "/api/v1/boundaries", want: 200},
	{method: "GET", target: "/api/v1/openapi.json", token: "-", want: 200},
	{method: "POST", target: "/api/v1/session", token: "-", body: `{"token": "sanse_operator"}`, want: 200},
	{method: "POST", target: "/api/v1/session", token: "-", body: `{"token": "sanse_wrong"}`, want: 401},
	{method: "GET", target: "/api/v1/session", token: viewerToken, want: 200},
	{method: "DELETE", target: "/api/v1/session", token: "-", want: 204},
	{method: "GET", target: "/api/v1/audit?action=alert.&limit=10", want: 200},
	{method: "GET", target: "/api/v1/audit", token: operatorToken, want: 403},
	{method: "GET", target: "/healthz", token: "-", want: 200},
	{method: "GET", target: "/readyz", token: "-", want: 200},
	{method: "GET", target: "/readyz", token: "-", before: func(s *openAPIServer) {
		*s.ready = errors.New("dial tcp 127.0.0.1:9092: connect: connection refused")
	}, want: 503},
	{method: "GET", target: "/metrics", token: "-", want: 200},
	{method: "GET", target: "/", want: 200},
	{method: "GET", target: "/", token: "-", want: 401},
	{method: "HEAD", target: "/", want: 200},
	{method: "GET", target: "/assets/app.js", token: "-", want: 200},
	{method: "GET", target: "/assets/nope.js", token: "-", want: 404},
	{method: "HEAD", target: "/assets/app.css", token: "-", want: 200},
}

// TestOpenAPIResponses sends openAPIExchanges to a server with every option
// set and checks each answer against the description: its status is listed,
// and a JSON body fits the schema, which names every member the handler
// sends. The live stream's events are checked against the schemas of their
// names.
func TestOpenAPIResponses(t *testing.T) {
	spec := loadOpenAPI(t)
	s := newOpenAPIServer(t)
	answered, ran := map[string]bool{}, 0
	for _, x := range openAPIExchanges {
		name := x.method + " " + x.target
		t.Run(name, func(t *testing.T) {
			ran++
			if x.before != nil {
				x.before(s)
			}
			u, err := url.Parse(x.target)
			require.NoError(t, err)
			op := spec.operation(t, x.method, u.Path)
			if op.path == "/api/v1/stream" {
				checkStream(t, spec, s, op)
				answered[op.String()] = true
				return
			}
			var body *strings.Reader
			if x.body != "" {
				body = strings.NewReader(x.body)
			}
			var req *http.Request
			if body != nil {
				req = httptest.NewRequest(x.method, x.target, body)
			} else {
				req = httptest.NewRequest(x.method, x.target, nil)
			}
			if x.body != "" {
				ct := x.contentType
				if ct == "" {
					ct = "application/json"
				}
				req.Header.Set("Content-Type", ct)
			}
			switch x.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+adminToken)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+x.token)
			}
			for k, v := range x.header {
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			require.Equal(t, x.want, rec.Code, "body: %s", rec.Body.String())
			spec.checkResponse(t, op, rec.Code, rec.Header(), rec.Body.Bytes())
			if rec.Code < 300 {
				answered[op.String()] = true
			}
		})
	}
	if ran < len(openAPIExchanges) {
		return // -run left some out
	}
	for _, o := range spec.operations(t) {
		require.True(t, answered[o.String()], "%s: add an exchange answered with a 2xx to openAPIExchanges", o)
	}
}

// checkStream reads the live stream: changes and an alert published before
// it, resumed from the first id of this run, then a reset for an id of
// another run; each event's data must fit the schema its name has in the
// description.
func checkStream(t *testing.T, spec *openAPISpec, s *openAPIServer, op openAPIOperation) {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	s.hub.Publish(engine.LevelChange{SchoolID: "JX-NH-0001", At: at("2025-06-09T07:42:00+08:00"), From: engine.LevelYellow,
		To: engine.LevelRed, EventID: "ev-visitor-1", ActiveRisks: 2,
		Cause: engine.Cause{How: engine.RiskOpened, Rule: "visitor.blacklist", Title: "禁入名单人员到访", Severity: engine.SeverityHigh}})
	s.hub.Publish(engine.LevelChange{SchoolID: "JX-NH-0002", At: at("2025-06-10T16:05:00+08:00"), From: engine.LevelYellow,
		To: engine.LevelGreen, ActiveRisks: 0,
		Cause: engine.Cause{How: engine.RiskExpired, Rule: "drowning.patrol_missing", Title: "防溺水巡查缺失", Severity: engine.SeverityMedium}})
	s.hub.PublishAlert(testAlerts().alerts[0])

	media := op.ptr + pointer("responses", "200", "content", "text/event-stream")
	events, _ := spec.at(t, media+"/x-sanse-events").(map[string]any)
	open := func(lastID string) *sseClient {
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/stream", nil)
		require.NoError(t, err)
		req.Host = "example.com"
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Last-Event-ID", lastID)
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		spec.checkResponse(t, op, resp.StatusCode, resp.Header, nil)
		return newSSEClient(resp)
	}
	check := func(b sseBlock) {
		require.Contains(t, events, b.event, "event %q is not described", b.event)
		spec.validateJSON(t, media+pointer("x-sanse-events", b.event), []byte(b.data), "the "+b.event+" event")
	}

	c := open(s.hub.eventID(0))
	var names []string
	for range 3 {
		b := c.event(t)
		check(b)
		names = append(names, b.event)
	}
	require.Equal(t, []string{"level", "level", "alert"}, names)

	b := open("5e0d7c1f22a8-1200").event(t)
	require.Equal(t, "reset", b.event)
	check(b)
}

// TestOpenAPIServed checks GET /api/v1/openapi.json: the embedded document,
// as JSON, without a token even when authentication is on, revalidated with
// its ETag.
func TestOpenAPIServed(t *testing.T) {
	s := newOpenAPIServer(t)
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/openapi.json")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	require.JSONEq(t, string(openAPIDocument), rec.Body.String())

	req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	again := httptest.NewRecorder()
	s.Handler().ServeHTTP(again, req)
	require.Equal(t, http.StatusNotModified, again.Code)

	// A server without authentication serves it the same.
	plain := newTestServer(t, Options{})
	require.Equal(t, rec.Body.String(), serve(t, plain.Handler(), http.MethodGet, "/api/v1/openapi.json").Body.String())
}

// TestOpenAPIEnumerations checks the enumerations of the description against
// the lists the handlers answer with: the engine's, and the dashboard's age
// ranges and days.
func TestOpenAPIEnumerations(t *testing.T) {
	spec := loadOpenAPI(t)
	ages := make([]string, len(alertAges))
	for i, b := range alertAges {
		ages[i] = b.name
	}
	for _, tc := range []struct {
		schema string
		want   []any
	}{
		{"Level", anys(engine.Levels)},
		{"Severity", anys(engine.Severities)},
		{"Stage", anys(engine.Stages)},
		{"Disposition", anys(engine.Dispositions)},
		{"AlertStatus", anys(alert.Statuses)},
		{"HazardStatus", anys(hazard.Statuses)},
		{"HazardAction", anys(hazard.Actions)},
		{"HazardPersonAction", anys(hazard.PersonActions)},
		{"HazardCategory", anys(hazard.Categories)},
		{"Role", anys(auth.Roles)},
		{"AlertAge", anys(ages)},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			enum, _ := spec.at(t, pointer("components", "schemas", tc.schema, "enum")).([]any)
			require.Equal(t, tc.want, enum)
		})
	}

	// The dashboard's days, as its parameter and its answer describe them.
	t.Run("dashboard days", func(t *testing.T) {
		want := make([]any, len(dashboardDays))
		for i, d := range dashboardDays {
			want[i] = json.Number(strconv.Itoa(d))
		}
		require.Equal(t, want, spec.at(t, pointer("components", "schemas", "Dashboard", "properties", "days", "enum")))
		op := pointer("paths", "/api/v1/dashboard", "get")
		params, _ := spec.at(t, op+"/parameters").([]any)
		found := false
		for i := range params {
			p, _ := spec.deref(t, op+pointer("parameters", strconv.Itoa(i)))
			if p["name"] == "days" {
				found = true
				require.Equal(t, want, p["schema"].(map[string]any)["enum"])
			}
		}
		require.True(t, found, "the parameter days")
	})
}

// anys returns the values of a list of strings as []any, as JSON decodes
// them.
func anys[T ~string](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
