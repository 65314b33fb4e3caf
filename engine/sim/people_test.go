package sim

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIDCheckDigit(t *testing.T) {
	tests := []struct {
		name    string
		first17 string
		want    byte
	}{
		// The example of GB 11643-1999.
		{name: "standard example", first17: "11010519491231002", want: 'X'},
		{name: "digit", first17: "44052418800101001", want: '4'},
		{name: "jiaxing", first17: "33040219900307321", want: '6'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, string(tt.want), string(idCheckDigit(tt.first17)))
		})
	}
}

func TestNewPerson(t *testing.T) {
	r := newRNG(7)
	shape := regexp.MustCompile(`^3304(02|11|21|24|81|82|83)(\d{8})\d{3}[\dX]$`)
	for range 2000 {
		p := newPerson(r, &counties[0])
		m := shape.FindStringSubmatch(p.id)
		require.NotNil(t, m, p.id)
		birth, err := time.Parse("20060102", m[2])
		require.NoError(t, err, p.id)
		require.False(t, birth.Before(birthFrom), p.id)
		require.Equal(t, idCheckDigit(p.id[:17]), p.id[17], p.id)
		require.GreaterOrEqual(t, len([]rune(p.name)), 2)
		require.LessOrEqual(t, len([]rune(p.name)), 3)
	}
}
