package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sanse-campus/sanse/engine/event"
)

// LoadDir parses and compiles every .yaml and .yml file of dir, in name
// order, against the built-in event contract.
func LoadDir(dir string) (*Set, []error) {
	return LoadDirContract(nil, dir)
}

// LoadDirContract is LoadDir against the event contract c (nil:
// event.Builtin()).
func LoadDirContract(c *event.Contract, dir string) (*Set, []error) {
	return LoadFSContract(c, os.DirFS(dir), dir)
}

// LoadFS parses and compiles every .yaml and .yml file at the top of fsys, in
// name order, against the built-in event contract; prefix names the files in
// errors.
func LoadFS(fsys fs.FS, prefix string) (*Set, []error) {
	return LoadFSContract(nil, fsys, prefix)
}

// LoadFSContract is LoadFS against the event contract c (nil:
// event.Builtin()).
func LoadFSContract(c *event.Contract, fsys fs.FS, prefix string) (*Set, []error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, []error{fmt.Errorf("read rule directory: %w", err)}
	}
	var (
		files []*File
		errs  []error
	)
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.HasSuffix(e.Name(), "_test.yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, perrs := ParseFile(filepath.Join(prefix, e.Name()), data)
		errs = append(errs, perrs...)
		if f != nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 && len(errs) == 0 {
		return nil, []error{fmt.Errorf("%s: no rule files (*.yaml) found", prefix)}
	}
	set, cerrs := CompileContract(c, files...)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}
