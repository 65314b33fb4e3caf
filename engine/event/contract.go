package event

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
)

// The event contract as data: one declaration per source (a YAML file), the
// built-in ones embedded from sources/, more from a directory. Everything
// that knows a field — the decoder, validation and dead-letter reasons, the
// stored payload, the typed `event` of rules, the fields rule errors suggest
// from, and the table in docs/events.md — reads it from the Contract.

//go:embed sources/*.yaml
var builtinFS embed.FS

// Kind is a declared field's type.
type Kind uint8

// Field types.
const (
	KindString Kind = iota + 1
	KindNumber
	KindInt
	KindBool
	KindTime
	KindDate
	KindStrings
)

var kindNames = map[string]Kind{
	"string": KindString, "number": KindNumber, "int": KindInt, "bool": KindBool,
	"time": KindTime, "date": KindDate, "[string]": KindStrings,
}

// String returns the kind as declarations write it.
func (k Kind) String() string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	return "unknown"
}

// Personal says what happens to a personal field before anything is kept.
type Personal uint8

// Personal treatments.
const (
	NotPersonal Personal = iota
	// PersonalMask keeps a masked form: an identity or phone number with
	// its first and last four characters, a name with its first character.
	PersonalMask
	// PersonalHash keeps a keyed hash, for matching the same person across
	// events, and the masked form.
	PersonalHash
	// PersonalDrop validates the field and keeps nothing of it.
	PersonalDrop
)

var personalNames = map[string]Personal{"mask": PersonalMask, "hash": PersonalHash, "drop": PersonalDrop}

// String returns the treatment as declarations write it.
func (p Personal) String() string {
	for n, v := range personalNames {
		if v == p {
			return n
		}
	}
	return ""
}

// Field is one declared field of a source.
type Field struct {
	Name     string
	Kind     Kind
	Values   []string          // the accepted values of a string, empty: any
	Labels   map[string]string // Chinese names of Values, for people and zh()
	MaxLen   int               // at most this many bytes (each element of a list), 0: the decoder's limit
	Personal Personal
	Default  string // the value of an absent string field, "" for none
	Doc      string

	// Slot is where the event holds the value (for a hashed field, the
	// hash); MaskedSlot, for a hashed field, where it holds the masked form.
	Slot, MaskedSlot int
	// HashAs and MaskedAs are the names rules read a hashed field's hash
	// and masked form by; the field's own name is not readable.
	HashAs, MaskedAs string

	required bool // as parsed: required by the type declaring it
	index    int  // its position in the source's Fields
	// Common is set for a field declared under the source's own fields:
	// any of its types may carry it.
	Common bool
}

// Readable is a name rules read an event value by: a field, or a hashed
// field's hash or masked form.
type Readable struct {
	Name string
	Kind Kind
	Slot int
	// Field is the declared field it comes from.
	Field *Field
}

// Type is one declared event type of a source.
type Type struct {
	Name string
	Doc  string
	// Alarm types may carry alarm_id and snapshot_url.
	Alarm bool
	// Disposition is set for the type that reports the outcome of a human
	// check of an alarm (alarm_id, state); a source with alarm types has one.
	Disposition bool
	// Fields are the fields this type declares or lists, in order; Required
	// those it requires.
	Fields   []*Field
	Required []*Field
}

// Source is one source's declaration, compiled.
type Source struct {
	Name  engine.Source
	Topic string
	// Title is the source's name for people: [0] Chinese, [1] English.
	Title [2]string
	Doc   string
	File  string
	// Builtin is set for the sources Sanse ships (sources/*.yaml).
	Builtin bool
	Types   []*Type // sorted by name
	// Fields are every field of every type, in the order of the
	// declaration; Readables what rules read, in the same order.
	Fields    []*Field
	Readables []Readable
	// Anonymous: a report whose AnonymousField holds one of
	// AnonymousValues (or whose reporter is "anonymous") keeps no reporter.
	AnonymousField  *Field
	AnonymousValues []string

	person     *Field // the first hashed field
	alarm      *Field // alarm_id, when the source has alarm types
	state      *Field // the disposition's state
	byKey      map[string]*Field
	keys       keyTable
	byReadable map[string]int
	byType     map[string]*Type
	slots      int

	// The fields with a default, which every event holds, and their slots.
	defaults     []*Field
	defaultSlots uint64
}

// Field returns the declared field sent as key, or nil.
func (s *Source) Field(key string) *Field { return s.byKey[key] }

// keyTable finds a declared field by the key sent, without hashing the
// whole key: open addressing on the key's length and first and last bytes,
// then one comparison. It is built once per source.
type keyTable struct {
	slots []*Field
	mask  uint
}

func keySlot(key string) uint {
	return uint(len(key))*0x9E3779B1 ^ uint(key[0])*0x85EBCA6B ^ uint(key[len(key)-1])*0xC2B2AE35
}

func newKeyTable(fields []*Field) keyTable {
	n := 8
	for n < 4*len(fields) {
		n *= 2
	}
	t := keyTable{slots: make([]*Field, n), mask: uint(n - 1)}
	for _, f := range fields {
		h := keySlot(f.Name) & t.mask
		for t.slots[h] != nil {
			h = (h + 1) & t.mask
		}
		t.slots[h] = f
	}
	return t
}

// find returns the field named key, or nil.
func (t *keyTable) find(key string) *Field {
	if len(key) == 0 || len(t.slots) == 0 {
		return nil
	}
	for h := keySlot(key) & t.mask; ; h = (h + 1) & t.mask {
		f := t.slots[h]
		if f == nil || f.Name == key {
			return f
		}
	}
}

// Readable returns what rules read as name, and whether there is one.
func (s *Source) Readable(name string) (Readable, bool) {
	i, ok := s.byReadable[name]
	if !ok {
		return Readable{}, false
	}
	return s.Readables[i], true
}

// Type returns the declared type named name, or nil.
func (s *Source) Type(name string) *Type { return s.byType[name] }

// TypeNames returns the names of the source's types, sorted.
func (s *Source) TypeNames() []string {
	out := make([]string, len(s.Types))
	for i, t := range s.Types {
		out[i] = t.Name
	}
	return out
}

// Slots returns how many value slots an event of the source uses.
func (s *Source) Slots() int { return s.slots }

// Contract is the set of declared sources.
type Contract struct {
	sources []*Source
	byName  map[engine.Source]*Source
	byTopic map[string]*Source
	// personal maps every key declared personal in any source to its
	// treatment, for redacting messages that could not be decoded.
	personal     map[string]Personal
	personalKeys []string // sorted
}

// Sources returns the declared sources: the four original ones in their
// fixed order, the other built-in ones by name, then a district's own by
// name.
func (c *Contract) Sources() []*Source { return c.sources }

// Names returns the names of the declared sources, in the order of Sources.
func (c *Contract) Names() []engine.Source {
	out := make([]engine.Source, len(c.sources))
	for i, s := range c.sources {
		out[i] = s.Name
	}
	return out
}

// Source returns the declaration of src, or nil.
func (c *Contract) Source(src engine.Source) *Source {
	if c == nil {
		return nil
	}
	return c.byName[src]
}

// ByTopic returns the source read from topic, or nil.
func (c *Contract) ByTopic(topic string) *Source { return c.byTopic[topic] }

// Title returns the name of src for people, Chinese (en false) or English;
// the source's own name when it is not declared.
func (c *Contract) Title(src engine.Source, en bool) string {
	s := c.Source(src)
	if s == nil {
		return string(src)
	}
	if en {
		return s.Title[1]
	}
	return s.Title[0]
}

// Label returns the Chinese name of an enumerated value of any source's
// field, and whether one is declared.
func (c *Contract) Label(value string) (string, bool) {
	for _, s := range c.sources {
		for _, f := range s.Fields {
			if l, ok := f.Labels[value]; ok {
				return l, true
			}
		}
	}
	return "", false
}

// builtinOrder is the order of the built-in sources.
var builtinOrder = []engine.Source{engine.SourceVisitor, engine.SourceCanteen, engine.SourceDrowning, engine.SourceBullying}

var builtin = func() *Contract {
	c, err := load(builtinFS, "sources", "")
	if err != nil {
		panic("event: the built-in source declarations: " + err.Error())
	}
	return c
}()

// Builtin returns the contract of the built-in sources.
func Builtin() *Contract { return builtin }

// LoadContract returns the built-in sources and those declared by the
// *.yaml files of dir (none when dir is empty). Every problem of every file
// is reported at once, each with its file and line.
func LoadContract(dir string) (*Contract, error) {
	if dir == "" {
		return builtin, nil
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("sources: %s is not a directory", dir)
	}
	return load(builtinFS, "sources", dir)
}

// envelopeNames are the fields every event carries, outside any declaration.
var envelopeNames = []string{"id", "school_id", "source", "type", "occurred_at", "reporter"}

// alarmFields are the fields an alarm type may carry besides its own.
var alarmFields = []*Field{
	{Name: "alarm_id", Kind: KindString, MaxLen: MaxIDLength, Doc: "the vendor platform's id of the alarm, which a disposition event names"},
	{Name: "snapshot_url", Kind: KindString, Doc: "抓拍: a link to the picture the device took"},
}

// dispositionType is the type of a disposition event.
const dispositionType = "disposition"

// dispositionFields are the fields of a disposition event.
var dispositionFields = []*Field{
	{Name: "alarm_id", Kind: KindString, MaxLen: MaxIDLength, Doc: "the vendor platform's id of the alarm, which a disposition event names"},
	{Name: "state", Kind: KindString, Values: []string{"confirmed", "false_alarm", "handled"},
		Labels: map[string]string{"confirmed": "已确认", "false_alarm": "误报", "handled": "已处置"},
		Doc:    "the outcome: confirmed (the risk takes its full level), false_alarm (误报: it ends and is counted), handled (it ends)"},
	{Name: "note", Kind: KindString, Doc: "what the check found"},
}

// ContractError is one problem of a declaration file.
type ContractError struct {
	File string
	Line int
	Msg  string
}

func (e *ContractError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

func load(embedded fs.FS, embeddedDir, dir string) (*Contract, error) {
	var errs []error
	var decls []*Source
	read := func(fsys fs.FS, root, shown string, builtin bool) {
		names, err := fs.Glob(fsys, filepath.ToSlash(filepath.Join(root, "*.yaml")))
		if err != nil {
			errs = append(errs, err)
			return
		}
		sort.Strings(names)
		for _, n := range names {
			data, err := fs.ReadFile(fsys, n)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			name := filepath.Join(shown, filepath.Base(n))
			s, ferrs := ParseSource(name, data)
			errs = append(errs, ferrs...)
			if s != nil {
				s.Builtin = builtin
				decls = append(decls, s)
			}
		}
	}
	read(embedded, embeddedDir, "sources", true)
	if dir != "" {
		read(os.DirFS(dir), ".", dir, false)
	}
	c := &Contract{byName: map[engine.Source]*Source{}, byTopic: map[string]*Source{}, personal: map[string]Personal{}}
	for _, s := range decls {
		if prev := c.byName[s.Name]; prev != nil {
			errs = append(errs, &ContractError{File: s.File, Msg: fmt.Sprintf("source %q is already declared in %s", s.Name, prev.File)})
			continue
		}
		if prev := c.byTopic[s.Topic]; prev != nil {
			errs = append(errs, &ContractError{File: s.File, Msg: fmt.Sprintf("topic %q is already the topic of source %q (%s)", s.Topic, prev.Name, prev.File)})
			continue
		}
		c.byName[s.Name], c.byTopic[s.Topic] = s, s
		c.sources = append(c.sources, s)
		for _, f := range s.Fields {
			if f.Personal != NotPersonal {
				c.personal[f.Name] = f.Personal
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for k := range c.personal {
		c.personalKeys = append(c.personalKeys, k)
	}
	sort.Strings(c.personalKeys)
	rank := func(s *Source) int {
		if i := slices.Index(builtinOrder, s.Name); i >= 0 {
			return i
		}
		if s.Builtin {
			return len(builtinOrder)
		}
		return len(builtinOrder) + 1
	}
	slices.SortStableFunc(c.sources, func(a, b *Source) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(string(a.Name), string(b.Name))
	})
	return c, nil
}

// ParseSource compiles one declaration file. It returns every problem it
// finds, each with the file and line.
func ParseSource(file string, data []byte) (*Source, []error) {
	var errs []error
	fail := func(n *yaml.Node, format string, args ...any) {
		line := 0
		if n != nil {
			line = n.Line
		}
		errs = append(errs, &ContractError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			fail(nil, "the file is empty; expected a source declaration (source, topic, types)")
		} else {
			fail(nil, "not valid YAML: %v", err)
		}
		return nil, errs
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		fail(root, "expected a mapping with source, topic, title and types")
		return nil, errs
	}
	s := &Source{File: file, byKey: map[string]*Field{}, byReadable: map[string]int{}, byType: map[string]*Type{}}
	var typesNode, fieldsNode *yaml.Node
	each(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "source":
			s.Name = engine.Source(scalar(v, fail, "a source name such as school_bus"))
			if s.Name != "" && !validName(string(s.Name)) {
				fail(v, "source %q: expected lower-case letters, digits and underscores, starting with a letter", s.Name)
			}
		case "topic":
			s.Topic = scalar(v, fail, "a Kafka topic name such as campus.school_bus")
		case "title":
			if v.Kind != yaml.MappingNode {
				fail(v, "title: expected {zh: 中文名, en: English name}")
				return
			}
			each(v, func(k, v *yaml.Node) {
				switch k.Value {
				case "zh":
					s.Title[0] = scalar(v, fail, "the Chinese name")
				case "en":
					s.Title[1] = scalar(v, fail, "the English name")
				default:
					fail(k, "title: unknown key %q, expected zh or en", k.Value)
				}
			})
		case "doc":
			s.Doc = scalar(v, fail, "a description")
		case "fields":
			fieldsNode = v
		case "types":
			typesNode = v
		case "anonymous":
			// Handled once the fields are known.
		default:
			fail(k, "unknown key %q, expected source, topic, title, doc, fields, types or anonymous", k.Value)
		}
	})
	if s.Name == "" {
		fail(root, "source: required, the source's name such as school_bus")
	}
	if s.Topic == "" {
		fail(root, "topic: required, the Kafka topic the source's events are read from")
	}
	if s.Title[0] == "" {
		s.Title[0] = string(s.Name)
	}
	if s.Title[1] == "" {
		s.Title[1] = s.Title[0]
	}
	// declare adds a field to the source, or checks that a field of the
	// same name declared by another type is the same.
	declare := func(n *yaml.Node, f *Field) *Field {
		if slices.Contains(envelopeNames, f.Name) {
			fail(n, "field %q is part of every event's envelope; it cannot be declared", f.Name)
			return nil
		}
		if prev := s.byKey[f.Name]; prev != nil {
			if !sameField(prev, f) {
				fail(n, "field %q is declared differently by another type of %s; a field has one declaration per source", f.Name, s.Name)
			}
			return prev
		}
		s.byKey[f.Name] = f
		f.index = len(s.Fields)
		s.Fields = append(s.Fields, f)
		return f
	}
	if fieldsNode != nil {
		if fieldsNode.Kind != yaml.MappingNode {
			fail(fieldsNode, "fields: expected a mapping of field name → {type, …}")
		} else {
			each(fieldsNode, func(k, v *yaml.Node) {
				if f := parseField(k, v, fail); f != nil {
					f.Common = true
					declare(k, f)
				}
			})
		}
	}
	if typesNode == nil || typesNode.Kind != yaml.MappingNode || len(typesNode.Content) == 0 {
		fail(root, "types: required, a mapping of type name → {fields: …}")
	} else {
		each(typesNode, func(k, v *yaml.Node) {
			t := &Type{Name: k.Value}
			if !validName(t.Name) {
				fail(k, "type %q: expected lower-case letters, digits and underscores, starting with a letter", t.Name)
			}
			if s.byType[t.Name] != nil {
				fail(k, "type %q is declared twice", t.Name)
				return
			}
			if v.Kind != yaml.MappingNode {
				fail(v, "type %s: expected {fields: …, required: […], alarm: true|false, doc: …}", t.Name)
				return
			}
			var required *yaml.Node
			each(v, func(k, v *yaml.Node) {
				switch k.Value {
				case "doc":
					t.Doc = scalar(v, fail, "a description")
				case "alarm":
					t.Alarm = boolean(v, fail, "alarm")
				case "required":
					required = v
				case "fields":
					if v.Kind != yaml.MappingNode {
						fail(v, "type %s: fields: expected a mapping of field name → {type, …}", t.Name)
						return
					}
					each(v, func(k, v *yaml.Node) {
						f := parseField(k, v, fail)
						if f == nil {
							return
						}
						req := f.required
						if f = declare(k, f); f != nil {
							t.Fields = append(t.Fields, f)
							if req {
								t.Required = append(t.Required, f)
							}
						}
					})
				default:
					fail(k, "type %s: unknown key %q, expected fields, required, alarm or doc", t.Name, k.Value)
				}
			})
			if required != nil {
				if required.Kind != yaml.SequenceNode {
					fail(required, "type %s: required: expected a list of field names", t.Name)
				} else {
					for _, n := range required.Content {
						f := s.byKey[n.Value]
						if f == nil {
							fail(n, "type %s: required field %q is not declared (declare it under the source's fields or the type's)", t.Name, n.Value)
							continue
						}
						if !slices.Contains(t.Fields, f) {
							t.Fields = append(t.Fields, f)
						}
						if !slices.Contains(t.Required, f) {
							t.Required = append(t.Required, f)
						}
					}
				}
			}
			if t.Alarm {
				for _, a := range alarmFields {
					cp := *a
					if f := declare(k, &cp); f != nil && !slices.Contains(t.Fields, f) {
						t.Fields = append(t.Fields, f)
					}
				}
			}
			s.byType[t.Name] = t
			s.Types = append(s.Types, t)
		})
	}
	// A source with alarms gets the disposition type the vendor platform
	// reports the outcome of a human check with, unless it declares one.
	if slices.ContainsFunc(s.Types, func(t *Type) bool { return t.Alarm }) {
		t := s.byType[dispositionType]
		if t == nil {
			t = &Type{Name: dispositionType, Doc: "the outcome of a human check of an alarm (待核实 → confirmed, 误报 or handled)"}
			for _, f := range dispositionFields {
				cp := *f
				if f := declare(typesNode, &cp); f != nil {
					t.Fields = append(t.Fields, f)
					if f.Name != "note" {
						t.Required = append(t.Required, f)
					}
				}
			}
			s.byType[t.Name] = t
			s.Types = append(s.Types, t)
		}
		t.Disposition = true
		s.alarm, s.state = s.byKey["alarm_id"], s.byKey["state"]
		if s.state == nil || !slices.Equal(s.state.Values, dispositionFields[1].Values) {
			fail(typesNode, "type %s: a disposition needs the field state with the values confirmed, false_alarm, handled", dispositionType)
		}
	}
	sort.Slice(s.Types, func(i, j int) bool { return s.Types[i].Name < s.Types[j].Name })
	if an := mapValue(root, "anonymous"); an != nil {
		if an.Kind != yaml.MappingNode {
			fail(an, "anonymous: expected {field: name, values: […]}")
		} else {
			each(an, func(k, v *yaml.Node) {
				switch k.Value {
				case "field":
					name := scalar(v, fail, "a field name")
					if s.AnonymousField = s.byKey[name]; s.AnonymousField == nil {
						fail(v, "anonymous: field %q is not declared", name)
					}
				case "values":
					s.AnonymousValues = stringList(v, fail, "anonymous: values")
				default:
					fail(k, "anonymous: unknown key %q, expected field or values", k.Value)
				}
			})
		}
	}
	// Slots, in the order of the declaration; a hashed field takes two.
	for _, f := range s.Fields {
		f.Slot = s.slots
		s.slots++
		name := f.Name
		if f.Personal == PersonalHash {
			if s.person == nil {
				s.person = f
			}
			if f.HashAs == "" {
				f.HashAs = f.Name + "_hash"
			}
			if f.MaskedAs == "" {
				f.MaskedAs = f.Name + "_masked"
			}
			f.MaskedSlot = s.slots
			s.slots++
			s.addReadable(Readable{Name: f.HashAs, Kind: KindString, Slot: f.Slot, Field: f})
			s.addReadable(Readable{Name: f.MaskedAs, Kind: KindString, Slot: f.MaskedSlot, Field: f})
			continue
		}
		if f.Personal == PersonalDrop {
			continue
		}
		s.addReadable(Readable{Name: name, Kind: f.Kind, Slot: f.Slot, Field: f})
	}
	s.keys = newKeyTable(s.Fields)
	for _, f := range s.Fields {
		if f.Default != "" {
			s.defaults = append(s.defaults, f)
			s.defaultSlots |= 1 << uint(f.Slot)
		}
	}
	if s.slots > engine.MaxSlots {
		fail(root, "%s declares %d value slots (a hashed field takes two); at most %d are supported", s.Name, s.slots, engine.MaxSlots)
	}
	for name := range s.byReadable {
		if other := s.byKey[name]; other != nil && s.Readables[s.byReadable[name]].Field != other {
			fail(root, "%q is both a field and the hash or masked form of another", name)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func (s *Source) addReadable(r Readable) {
	s.byReadable[r.Name] = len(s.Readables)
	s.Readables = append(s.Readables, r)
}

// fieldKeys are the keys of a field's declaration.
const fieldKeys = "type, required, values, labels, max_len, personal, hash_as, masked_as, default or doc"

func parseField(k, v *yaml.Node, fail func(*yaml.Node, string, ...any)) *Field {
	f := &Field{Name: k.Value}
	if !validName(f.Name) {
		fail(k, "field %q: expected lower-case letters, digits and underscores, starting with a letter", f.Name)
		return nil
	}
	if v.Kind != yaml.MappingNode {
		fail(v, "field %s: expected {type: string|number|int|bool|time|date|[string], …}", f.Name)
		return nil
	}
	each(v, func(k, v *yaml.Node) {
		switch k.Value {
		case "type":
			t := v.Value
			if v.Kind == yaml.SequenceNode && len(v.Content) == 1 {
				t = "[" + v.Content[0].Value + "]"
			}
			kind, ok := kindNames[t]
			if !ok {
				fail(v, "field %s: unknown type %q, expected string, number, int, bool, time, date or [string]", f.Name, t)
			}
			f.Kind = kind
		case "required":
			f.required = boolean(v, fail, "field "+f.Name+": required")
		case "values":
			f.Values = stringList(v, fail, "field "+f.Name+": values")
		case "labels":
			if v.Kind != yaml.MappingNode {
				fail(v, "field %s: labels: expected a mapping of value → Chinese name", f.Name)
				return
			}
			f.Labels = map[string]string{}
			each(v, func(k, v *yaml.Node) { f.Labels[k.Value] = v.Value })
		case "max_len":
			n, err := strconv.Atoi(v.Value)
			if err != nil || n <= 0 {
				fail(v, "field %s: max_len: expected a positive number of bytes", f.Name)
			}
			f.MaxLen = n
		case "personal":
			p, ok := personalNames[v.Value]
			if !ok {
				fail(v, "field %s: personal: unknown treatment %q, expected mask, hash or drop", f.Name, v.Value)
			}
			f.Personal = p
		case "hash_as":
			f.HashAs = scalar(v, fail, "a field name")
		case "masked_as":
			f.MaskedAs = scalar(v, fail, "a field name")
		case "default":
			f.Default = scalar(v, fail, "a value")
		case "doc":
			f.Doc = scalar(v, fail, "a description")
		default:
			fail(k, "field %s: unknown key %q, expected %s", f.Name, k.Value, fieldKeys)
		}
	})
	if f.Kind == 0 {
		fail(v, "field %s: type: required, one of string, number, int, bool, time, date, [string]", f.Name)
		return nil
	}
	if len(f.Values) > 0 && f.Kind != KindString && f.Kind != KindStrings {
		fail(v, "field %s: values are accepted only for string fields", f.Name)
	}
	for l := range f.Labels {
		if !slices.Contains(f.Values, l) {
			fail(v, "field %s: label for %q, which is not one of its values", f.Name, l)
		}
	}
	if f.Default != "" && (f.Kind != KindString || (len(f.Values) > 0 && !slices.Contains(f.Values, f.Default))) {
		fail(v, "field %s: default %q: expected one of its values, for a string field", f.Name, f.Default)
	}
	if f.Personal != NotPersonal && f.Kind != KindString {
		fail(v, "field %s: personal applies to string fields", f.Name)
	}
	if (f.HashAs != "" || f.MaskedAs != "") && f.Personal != PersonalHash {
		fail(v, "field %s: hash_as and masked_as apply to fields declared personal: hash", f.Name)
	}
	return f
}

func sameField(a, b *Field) bool {
	return a.Kind == b.Kind && slices.Equal(a.Values, b.Values) && a.MaxLen == b.MaxLen && a.Personal == b.Personal &&
		a.Default == b.Default && a.HashAs == b.HashAs && a.MaskedAs == b.MaskedAs
}

func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// each calls fn with every key and value of the mapping n, in order.
func each(n *yaml.Node, fn func(k, v *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		fn(n.Content[i], n.Content[i+1])
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(v *yaml.Node, fail func(*yaml.Node, string, ...any), what string) string {
	if v.Kind != yaml.ScalarNode {
		fail(v, "expected %s", what)
		return ""
	}
	return v.Value
}

func boolean(v *yaml.Node, fail func(*yaml.Node, string, ...any), what string) bool {
	switch v.Value {
	case "true":
		return true
	case "false":
		return false
	}
	fail(v, "%s: expected true or false", what)
	return false
}

func stringList(v *yaml.Node, fail func(*yaml.Node, string, ...any), what string) []string {
	if v.Kind != yaml.SequenceNode {
		fail(v, "%s: expected a list", what)
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, n := range v.Content {
		if n.Kind != yaml.ScalarNode {
			fail(n, "%s: expected a list of words", what)
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

// Value returns what rules read as name in ev (a field, or a hashed field's
// hash or masked form), and whether ev's source declares it.
func (c *Contract) Value(ev *engine.Event, name string) (engine.Value, bool) {
	s := c.Source(ev.Source)
	if s == nil {
		return engine.Value{}, false
	}
	r, ok := s.Readable(name)
	if !ok {
		return engine.Value{}, false
	}
	return ev.Value(r.Slot), true
}
