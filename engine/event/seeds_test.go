package event

import (
	"strings"
	"testing"

	"github.com/sanse-campus/sanse/engine"
)

// newSeedDecoder is a decoder over one school, S1, with a fixed identity key.
func newSeedDecoder(t testing.TB) *Decoder {
	reg, err := engine.NewRegistry([]engine.School{{ID: "S1", Name: "一小", District: "南湖区"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return &Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
}

// seeds are valid events of every type and the edges of JSON and of the
// contract, for the fuzz tests.
var seeds = []string{
	`{"id":"v1","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00.250+08:00","visitor_id":"33040219800101123x","name":"张三丰","id_verified":true,"watchlist":"blacklist","gate":"东门","badge":"B-7"}`,
	`{"id":"v2","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":" 330402198001011234 ","visitor_hash":"sent","name":" 李 "}`,
	`{"id":"v3","school_id":"S1","source":"visitor","type":"denied","occurred_at":"2026-11-02T09:00:00+05:30","visitor_id":"1234","id_verified":false,"watchlist":"wanted","appointment":true,"host":"王老师","during_class":true,"prohibited_items":true}`,
	`{"id":"v4","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"ÄB1234567890ß","name":"x"}`,
	`{"id":"v5","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"a","visitor_id":null,"name":"张三","visitor_hash":1}`,
	`{"id":"v6","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"330402198001011234","name":"张三","name":null}`,
	`{"id":"v7","school_id":"S1","source":"canteen","type":"sample","occurred_at":"2026-11-02T09:00:00Z","dish":"d","weight_g":1,"retained_hours":48,"name":"张三","name":null}`,
	`{"id":"v9","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"1234","suspect_refs":["a"],"suspect_refs":[null,"b"]}`,
	`{"id":"v8","school_id":"S1","source":"visitor","type":"exit","occurred_at":"2026-11-02T09:00:00Z","visitor\u005fid":"330402198001011234","na\u006de":"\"\\\u0001"}`,
	`{"id":"c1","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"2026-11-02T09:00:00+08:00","device":"F1","celsius":9.5,"zone":"fridge"}`,
	`{"id":"c2","school_id":"S1","source":"canteen","type":"ai_violation","occurred_at":"2026-11-02T09:00:00+08:00","violation":"no_hat","reporter":"cam-3"}`,
	`{"id":"c3","school_id":"S1","source":"canteen","type":"health_check","occurred_at":"2026-11-02T09:00:00+08:00","staff_id":"T-1","passed":false,"symptom":"发热"}`,
	`{"id":"c4","school_id":"S1","source":"canteen","type":"pesticide_test","occurred_at":"2026-11-02T09:00:00+08:00","item":"青菜","passed":true}`,
	`{"id":"c5","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"2026-12-01"}`,
	`{"id":"c6","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"2026-12-01T00:00:00+08:00"}`,
	`{"id":"d1","school_id":"S1","source":"drowning","type":"fence_intrusion","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","minors":true,"persons":3}`,
	`{"id":"d2","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","hazard_found":false,"note":"正常"}`,
	`{"id":"d3","school_id":"S1","source":"drowning","type":"water_level","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","level_m":1.25e0,"warning_level_m":-0.0}`,
	`{"id":"d4","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":120,"temp_c":-3.5E+1}`,
	`{"id":"b1","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"teacher","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["S-2","S-3"]}`,
	`{"id":"b2","school_id":"S1","source":"bullying","type":"screening","occurred_at":"2026-11-02T09:00:00Z","student_ref":"S-1","score":70,"threshold":60}`,
	`{"id":"b3","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"hotline","victim_ref":"S-1","kind":"cyber","injury":true,"suspect_refs":[]}`,
	`{"id":"b4","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"property","injury":true,"suspect_refs":["a","b","c"],"suspect_refs":["x"],"suspect_refs":["y",null,null]}`,
	`{"id":"b5","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"property","injury":true,"suspect_refs":["a","b"],"suspect_refs":null,"suspect_refs":[null,"z"]}`,
	`{"id":"b6","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"exclusion","injury":true,"suspect_refs":["a"],"suspect_refs":[],"suspect_refs":[null]}`,
	` { "id" : "w1" , "school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"x":{"a":[1,{"b":null}],"c":"\ud83d\ude00"},"y":[[],{}],"z":-12.5e-3 } ` + "\n\t\r",
	`{"id":"e1","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"id":"e2","rain_mm_24h":null}`,
	`{"id":"e\ud800x\udc00y\ud800\u0041","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1,"note":"\ud83d\ude00\ud83d"}`,
	"{\"id\":\"\xff\xfe\xe4\xb8\",\"school_id\":\"S1\",\"source\":\"drowning\",\"type\":\"weather\",\"occurred_at\":\"2026-11-02T09:00:00Z\",\"rain_mm_24h\":1,\"\xffkey\":1}",
	`{"id":"ID","ID":"x","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`,
	`{"id":"","school_id":"S1"}`,
	`{"school_id":"S1","id":"x","source":"library"}`,
	`{"id":"x","school_id":"S9","source":"canteen","type":"dinner","occurred_at":"2026-11-02T09:00:00Z"}`,
	`{"id":"x","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"yesterday"}`,
	`{"id":"x","school_id":"S1","source":"canteen","type":"storage_temp","occurred_at":"2026-11-02T09:00:00Z","device":"F1","celsius":9.5,"zone":"cellar","watchlist":"all","kind":"k"}`,
	`{"id":"x","school_id":"S1","source":"drowning","type":"fence_intrusion","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","minors":true,"persons":1.5}`,
	`{"id":"x","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1e400}`,
	`{"id":"x","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":"1","temp_c":true}`,
	`{"id":"x","school_id":"S1","suspect_refs":[1,"a",{}],"celsius":{}}`,
	`{"id":1,"id":"x","note":[],"injury":"no","suspect_refs":"S-2"}`,
	`{"id":"x","school_id":"S1","source":"canteen","type":"supplier_cert","occurred_at":"2026-11-02T09:00:00Z","supplier":"x","expires_on":"someday"}`,
	`{"id":"` + strings.Repeat("x", 257) + `","school_id":"S1"}`,
	`null`, ` null `, `nullx`, `[]`, `[1,2]`, `"x"`, `1`, `true`, `-`, `1.`, `1e`, `1e+`, `01`, `tru`, `fals`, `nul`,
	``, ` `, `{`, `{"`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1}x`, `{} `, "\ufeff{}", `{"a":"\u12"}`, `{"a":"\x"}`,
	`{"a":01}`, `{"a":+1}`, `{"a":.5}`, `{"a":NaN}`, `{"a":-Infinity}`, `{"a":1.e3}`, `{"a":[1,]}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`,
	`{,}`, `{"a":1,}`, `{"a" 1}`, `{"a":[1 2]}`, `{"a":"` + "\x01" + `"}`, `{"a":"\`, `{"a":"\u`, `{"a":tru}`, `{'a':1}`,
	`{"id":"x"}` + "\x00",
	`{"id":"p1","school_id":"S1","source":"canteen","type":"health_check","occurred_at":"2026-11-02T09:00:00+08:00","staff_id":"440306199003074513","passed":false,"symptom":"电话139-1234-5678","x":{"id":"11010519491231002X"}}`,
	`{"id":"p2","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"verbal","injury":false,"suspect_refs":["13912345678",null],"suspect_refs":["a",null,"+8613812345678"]}`,
	`{"id":"p3","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":13912345678}`,
	`{"id":"p4","school_id":"S1","source":"drowning","type":"patrol","occurred_at":"2026-11-02T09:00:00Z","water_body":"南湖","hazard_found":false,"note":"\u0031\u00339\u0031\u0032\u0033\u0034\u0035\u0036\u0037\u0038","note":"ok","reporter":"330402800101123"}`,
	`{"id":"p6","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","reporter":"王老师","channel":"anonymous_app","victim_ref":"S-1","kind":"verbal","injury":false,"reporter":"app-7"}`,
	`{"id":"p7","school_id":"S1","source":"bullying","type":"report","occurred_at":"2026-11-02T09:00:00Z","channel":"parent","victim_ref":"S-1","kind":"verbal","injury":false,"reporter":"anonymous","reporter":null}`,
	`{"id":"13912345678","school_id":"S1","source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`,
	`{"id":"p5","school_id":"S1","source":"visitor","type":"entry","occurred_at":"2026-11-02T09:00:00Z","visitor_id":"440306199003074513","name":"13912345678","id_verified":true,"watchlist":"none","visitor_hash":"13812345678","host":"王老师 13712345678"}`,
}
