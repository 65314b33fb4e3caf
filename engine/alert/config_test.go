package alert

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	c := Config{
		Route:      Route{Receivers: []string{"nobody"}, Routes: []Route{{Match: map[string]string{"colour": "red", "level": "green"}}}},
		Contacts:   Contacts{Towns: map[string]string{"新兴街道": "nobody"}},
		QuietHours: []QuietHours{{Start: "22h", End: "07:00"}},
	}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`alerting.route.receivers: no receiver is named "nobody"`,
		`alerting.route.routes[0].match: unknown label "colour"`,
		`alerting.route.routes[0].match.level: "green" is not red or yellow`,
		`alerting.contacts.towns: key "新兴街道" must be "district/town"`,
		`alerting.quiet_hours[0]: "22h" is not a time of day`,
	} {
		require.Contains(t, err.Error(), want)
	}
}
