package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad parses an arbitrary rule file and compiles it with the default
// pack's params, calendar and policy files, as a rule directory would be
// loaded. The oracle: no panic; every problem is a located *Error; a set is
// returned exactly when there is no problem.
func FuzzLoad(f *testing.F) {
	var shared []*File
	entries, err := fs.ReadDir(Pack(), ".")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(Pack(), e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		switch e.Name() {
		case "params.yaml", "calendar.yaml", "policy.yaml":
			file, errs := ParseFile(e.Name(), data)
			if len(errs) > 0 {
				f.Fatal(errs)
			}
			shared = append(shared, file)
		}
	}
	bad, err := os.ReadFile(filepath.Join("..", "testdata", "rules", "bad", "two_mistakes.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bad)
	f.Add([]byte("rules:\n  - id: x\n    source: visitor\n    when: 'len(\"a\") > 0 && event.'\n"))
	f.Add([]byte("rules: &a [*a]\n"))
	f.Add([]byte("params: {a: [1, {b: 2}]}\nrules: [{id: y, source: canteen, when: params.a > 1, level: high}]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := ParseFile("fuzz.yaml", data)
		checkErrors(t, errs)
		if len(errs) > 0 {
			return
		}
		set, errs := Compile(append(shared[:len(shared):len(shared)], file)...)
		checkErrors(t, errs)
		if (set == nil) != (len(errs) > 0) {
			t.Fatalf("set %v with %d errors", set != nil, len(errs))
		}
	})
}

// checkErrors requires every error to be a rules *Error with a file and a
// position that is not negative.
func checkErrors(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		var re *Error
		if !errors.As(err, &re) {
			t.Fatalf("not a *rules.Error: %T %v", err, err)
		}
		if re.File == "" || re.Line < 0 || re.Column < 0 {
			t.Fatalf("error without a place: %+v", re)
		}
	}
}
