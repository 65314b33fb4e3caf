package alert

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Config is the alerting section of the configuration file.
type Config struct {
	// ExternalURL is the map's address as people reach it, for the links in
	// messages (e.g. https://sanse.example.edu.cn); none when empty.
	ExternalURL string `yaml:"external_url"`
	// Receivers are the named places messages go to.
	Receivers []notify.ReceiverConfig `yaml:"receivers"`
	// Route is the routing tree of first messages (the school step).
	Route Route `yaml:"route"`
	// Contacts is who is reached at each step up the organisation.
	Contacts Contacts `yaml:"contacts"`
	// Escalation is how long an unacknowledged alert waits before it goes
	// one step up, per colour.
	Escalation Escalation `yaml:"escalation"`
	// QuietHours hold yellow messages back (never red ones) until they end.
	QuietHours []QuietHours `yaml:"quiet_hours"`
	// Retry bounds the redelivery of a message a receiver did not accept.
	Retry notify.Retry `yaml:"retry"`
}

// Route is a node of the routing tree: an alert goes to the receivers of
// the first child that matches it (and of later ones while a matching child
// says continue), or to this node's when no child matches.
type Route struct {
	// Match holds label values that must all equal the alert's: district,
	// town, school (id), stage, source, level (red, yellow).
	Match map[string]string `yaml:"match"`
	// Receivers are the names of the receivers that get the message; the
	// name "school" is the school's own contact (Contacts.Schools).
	Receivers []string `yaml:"receivers"`
	// GroupWait is how long to wait for more alerts of the same school
	// before sending the first message, so that a burst is one message.
	GroupWait time.Duration `yaml:"group_wait"`
	// RepeatInterval is how often a firing, unacknowledged alert is sent
	// again to its current step.
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	// SendResolved sends a message when the alert resolves.
	SendResolved *bool `yaml:"send_resolved"`
	// Continue goes on to the next sibling after this route matched.
	Continue bool    `yaml:"continue"`
	Routes   []Route `yaml:"routes"`
}

// Contacts are the receivers of each step up the organisation: the school,
// its town (or centre school), its district's safety office, the city.
type Contacts struct {
	Schools   map[string]string `yaml:"schools"`   // school id → receiver name
	Towns     map[string]string `yaml:"towns"`     // "district/town" → receiver name
	Districts map[string]string `yaml:"districts"` // district → receiver name
	City      string            `yaml:"city"`      // receiver name
}

// Escalation is the delay before an unacknowledged alert goes a step up.
type Escalation struct {
	Red    time.Duration `yaml:"red"`
	Yellow time.Duration `yaml:"yellow"`
	// MaxStep is the highest step reached (notify.StepCity by default).
	MaxStep *int `yaml:"max_step"`
}

// QuietHours is a daily span of local time (Asia/Shanghai), like 22:00–07:00.
type QuietHours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Defaults.
const (
	DefaultGroupWait      = time.Second
	DefaultRepeatInterval = 30 * time.Minute
	DefaultEscalateRed    = 10 * time.Minute
	DefaultEscalateYellow = time.Hour
)

// SchoolContact is the receiver name that stands for the school's own
// contact in Route.Receivers.
const SchoolContact = "school"

// withDefaults fills what the configuration left out.
func (c Config) withDefaults() Config {
	if c.Route.GroupWait <= 0 {
		c.Route.GroupWait = DefaultGroupWait
	}
	if c.Route.RepeatInterval <= 0 {
		c.Route.RepeatInterval = DefaultRepeatInterval
	}
	if c.Route.SendResolved == nil {
		t := true
		c.Route.SendResolved = &t
	}
	if len(c.Route.Receivers) == 0 {
		c.Route.Receivers = []string{SchoolContact}
	}
	if c.Escalation.Red <= 0 {
		c.Escalation.Red = DefaultEscalateRed
	}
	if c.Escalation.Yellow <= 0 {
		c.Escalation.Yellow = DefaultEscalateYellow
	}
	if c.Escalation.MaxStep == nil {
		m := notify.StepCity
		c.Escalation.MaxStep = &m
	}
	c.Retry = c.Retry.WithDefaults()
	return c
}

// matchLabels are the labels a route may match on.
var matchLabels = []string{"district", "town", "school", "stage", "source", "level"}

// Validate reports every mistake of c at once.
func (c *Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
		}
		if r.Name == SchoolContact {
			errs = append(errs, fmt.Errorf("alerting.receivers[%d]: the name %q is reserved for the school's own contact", i, SchoolContact))
		}
		if names[r.Name] {
			errs = append(errs, fmt.Errorf("alerting.receivers[%d]: the name %q is used twice", i, r.Name))
		}
		names[r.Name] = true
	}
	known := func(where, name string) {
		if name != "" && !names[name] {
			errs = append(errs, fmt.Errorf("%s: no receiver is named %q (alerting.receivers)", where, name))
		}
	}
	var walk func(where string, r *Route)
	walk = func(where string, r *Route) {
		for k := range r.Match {
			if !slices.Contains(matchLabels, k) {
				errs = append(errs, fmt.Errorf("%s.match: unknown label %q (expected one of %s)", where, k, strings.Join(matchLabels, ", ")))
			}
		}
		if v, ok := r.Match["level"]; ok && v != string(engine.LevelRed) && v != string(engine.LevelYellow) {
			errs = append(errs, fmt.Errorf("%s.match.level: %q is not red or yellow", where, v))
		}
		for _, name := range r.Receivers {
			if name != SchoolContact {
				known(where+".receivers", name)
			}
		}
		for i := range r.Routes {
			walk(fmt.Sprintf("%s.routes[%d]", where, i), &r.Routes[i])
		}
	}
	walk("alerting.route", &c.Route)
	for id, name := range c.Contacts.Schools {
		known("alerting.contacts.schools."+id, name)
	}
	for k, name := range c.Contacts.Towns {
		if !strings.Contains(k, "/") {
			errs = append(errs, fmt.Errorf("alerting.contacts.towns: key %q must be \"district/town\"", k))
		}
		known("alerting.contacts.towns."+k, name)
	}
	for d, name := range c.Contacts.Districts {
		known("alerting.contacts.districts."+d, name)
	}
	known("alerting.contacts.city", c.Contacts.City)
	for i, q := range c.QuietHours {
		if _, _, err := q.span(); err != nil {
			errs = append(errs, fmt.Errorf("alerting.quiet_hours[%d]: %w", i, err))
		}
	}
	if m := c.Escalation.MaxStep; m != nil && (*m < notify.StepSchool || *m > notify.StepCity) {
		errs = append(errs, fmt.Errorf("alerting.escalation.max_step: %d is not between 0 (school) and 3 (city)", *m))
	}
	return errors.Join(errs...)
}
