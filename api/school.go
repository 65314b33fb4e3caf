package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/words"
)

// schoolDetail is the body of GET /api/v1/schools/:id.
type schoolDetail struct {
	School  schoolRecord `json:"school"`
	Level   engine.Level `json:"level"`
	LevelZh string       `json:"level_zh"`
	Since   *time.Time   `json:"since"`
	Cause   string       `json:"cause"`
	// CauseEn is the cause in English, for the page's English view.
	CauseEn     string     `json:"cause_en"`
	ActiveRisks []riskJSON `json:"active_risks"`
}

// schoolRecord is a school's registry entry as the API shows it.
type schoolRecord struct {
	ID        string       `json:"school_id"`
	Name      string       `json:"name"`
	District  string       `json:"district"`
	Town      string       `json:"town"`
	Stage     engine.Stage `json:"stage"`
	Longitude float64      `json:"longitude"`
	Latitude  float64      `json:"latitude"`
	Boarding  bool         `json:"boarding"`
	Canteen   bool         `json:"canteen"`
}

// riskJSON is one active risk with its evidence.
type riskJSON struct {
	Rule        string          `json:"rule"`
	Key         string          `json:"key"`
	Source      engine.Source   `json:"source"`
	Level       engine.Severity `json:"level"`
	LevelZh     string          `json:"level_zh"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	FirstSeen   time.Time       `json:"first_seen"`
	LastSeen    time.Time       `json:"last_seen"`
	Until       *time.Time      `json:"until"` // null while it lasts until cleared or resolved
	Manual      bool            `json:"manual,omitempty"`
	// Pending says that the risk waits for a person's check (待核实) at
	// Level; FullLevel is the level it takes once confirmed, set only
	// while it is pending.
	Pending   bool            `json:"pending"`
	FullLevel engine.Severity `json:"full_level,omitempty"`
	// Device is the reporter of the event that opened the risk (a camera,
	// a sensor), "" when it had none.
	Device string `json:"device"`
	// Overdue says that the risk was still active past its deadline and
	// rose (the rule's overdue).
	Overdue bool `json:"overdue"`
	Count   int  `json:"count"`
	// Evidence are the ids of the newest events that matched, oldest first.
	Evidence []string `json:"evidence"`
}

// handleSchool serves GET /api/v1/schools/:id: the school's registry entry,
// colour, the cause of its last change and its active risks, most serious
// first.
func (s *Server) handleSchool(c echo.Context) error {
	v, err := s.scopedView(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSchoolDetail(v))
}

// newSchoolDetail returns the body that shows v.
func newSchoolDetail(v engine.SchoolView) schoolDetail {
	d := schoolDetail{
		School: schoolRecord{
			ID: v.School.ID, Name: v.School.Name, District: v.School.District, Town: v.School.Town,
			Stage: v.School.Stage, Longitude: v.School.Longitude, Latitude: v.School.Latitude,
			Boarding: v.School.Boarding, Canteen: v.School.Canteen,
		},
		Level:       v.Level,
		LevelZh:     words.Level(v.Level, words.Chinese),
		Since:       timeOrNil(v.Since),
		Cause:       words.Cause(v.Cause, words.Chinese),
		CauseEn:     words.Cause(v.Cause, words.English),
		ActiveRisks: make([]riskJSON, 0, len(v.Risks)),
	}
	for _, r := range v.Risks {
		evidence := r.Evidence
		if evidence == nil {
			evidence = []string{}
		}
		d.ActiveRisks = append(d.ActiveRisks, riskJSON{
			Rule: r.Rule, Key: r.Key, Source: r.Source, Level: r.Severity, LevelZh: words.Severity(r.Severity, words.Chinese),
			Title: r.Title, Description: r.Description, FirstSeen: local(r.FirstSeen), LastSeen: local(r.LastSeen),
			Until: timeOrNil(r.Until), Manual: r.Manual, Pending: r.Pending, Device: r.Device, Overdue: r.Overdue,
			Count: r.Count, Evidence: evidence,
		})
		if r.Pending {
			d.ActiveRisks[len(d.ActiveRisks)-1].FullLevel = r.Full
		}
	}
	return d
}

// scopedView returns the school named by the path parameter id, or a 404
// when it is unknown or outside the caller's scope; the two are not told
// apart, so a scope does not reveal which ids exist elsewhere.
func (s *Server) scopedView(c echo.Context) (engine.SchoolView, error) {
	id := c.Param("id")
	if c.Request().URL.RawPath != "" {
		// echo routes on the escaped path when it differs from the default
		// escaping (e.g. an id with "/" in it); the parameter is then escaped.
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return engine.SchoolView{}, httpError(http.StatusBadRequest, "invalid school id %q: %v", c.Param("id"), err)
		}
	}
	v, ok := s.schools.View(id)
	if !ok || !ScopeFrom(c.Request().Context()).Allows(v.School) {
		return engine.SchoolView{}, httpError(http.StatusNotFound, "school %q not found", id)
	}
	return v, nil
}
