package rules_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/rules"
)

// personFields are the event fields that name or identify a person: a
// pupil's ref, a staff id, a reporter, a visitor. Titles become alert
// titles and causes, which every receiver of a notification, the live
// stream and the map read unredacted, so no title of the default pack may
// use them; descriptions, shown with the risk's details, may.
var personFields = []string{"victim_ref", "suspect_refs", "student_ref", "staff_id", "reporter",
	"visitor_masked", "visitor_hash", "event.name", "event.host"}

func TestPackTitlesNameNoOne(t *testing.T) {
	files, err := fs.Glob(rules.Pack(), "*.yaml")
	require.NoError(t, err)
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.yaml") {
			continue
		}
		data, err := fs.ReadFile(rules.Pack(), name)
		require.NoError(t, err)
		var f struct {
			Rules []struct {
				ID    string `yaml:"id"`
				Title string `yaml:"title"`
			} `yaml:"rules"`
		}
		require.NoError(t, yaml.Unmarshal(data, &f), name)
		for _, r := range f.Rules {
			checked++
			for _, p := range personFields {
				require.NotContains(t, r.Title, p, "%s: rule %s's title names a person", name, r.ID)
			}
		}
	}
	require.Greater(t, checked, 10)
}
