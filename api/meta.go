package api

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/words"
)

// metaName is one value of an enumeration with the names people read: in
// Chinese, and in English where the page has an English name for it.
type metaName struct {
	ID string `json:"id"`
	Zh string `json:"zh"`
	En string `json:"en,omitempty"`
}

// metaHazardStatus is a hazard status; Closed marks the one after which
// nothing follows (已销号).
type metaHazardStatus struct {
	metaName
	Closed bool `json:"closed"`
}

// metaHazardAction is a hazard action; Person marks those a person takes
// through the API (the others the system records).
type metaHazardAction struct {
	metaName
	Person bool `json:"person"`
}

// metaBody is the body of GET /api/v1/meta: every enumeration the page
// shows, each in the order the engine lists it.
type metaBody struct {
	Sources          []metaName         `json:"sources"`
	Stages           []metaName         `json:"stages"`
	Levels           []metaName         `json:"levels"`
	Severities       []metaName         `json:"severities"`
	AlertStatuses    []metaName         `json:"alert_statuses"`
	HazardStatuses   []metaHazardStatus `json:"hazard_statuses"`
	HazardActions    []metaHazardAction `json:"hazard_actions"`
	HazardCategories []metaName         `json:"hazard_categories"`
}

// newMeta lists the enumerations from the packages that own them, with the
// names engine/words (or the owner's Chinese method) gives them; the
// sources are those of c, named by their declarations.
func newMeta(c *event.Contract) metaBody {
	var m metaBody
	both := func(id string, name func(words.Lang) string) metaName {
		return metaName{ID: id, Zh: name(words.Chinese), En: name(words.English)}
	}
	for _, s := range c.Sources() {
		m.Sources = append(m.Sources, metaName{ID: string(s.Name), Zh: s.Title[0], En: s.Title[1]})
	}
	for _, s := range engine.Stages {
		m.Stages = append(m.Stages, both(string(s), func(l words.Lang) string { return words.Stage(s, l) }))
	}
	for _, v := range engine.Levels {
		m.Levels = append(m.Levels, both(string(v), func(l words.Lang) string { return words.Level(v, l) }))
	}
	for _, s := range engine.Severities {
		m.Severities = append(m.Severities, both(string(s), func(l words.Lang) string { return words.SeverityLabel(s, l) }))
	}
	for _, s := range alert.Statuses {
		m.AlertStatuses = append(m.AlertStatuses, metaName{ID: string(s), Zh: s.Chinese()})
	}
	for _, s := range hazard.Statuses {
		m.HazardStatuses = append(m.HazardStatuses, metaHazardStatus{
			metaName: metaName{ID: string(s), Zh: s.Chinese()}, Closed: s.Closed(),
		})
	}
	for _, a := range hazard.Actions {
		m.HazardActions = append(m.HazardActions, metaHazardAction{
			metaName: metaName{ID: string(a), Zh: a.Chinese()}, Person: slices.Contains(hazard.PersonActions, a),
		})
	}
	for _, c := range hazard.Categories {
		m.HazardCategories = append(m.HazardCategories, metaName{ID: c, Zh: c})
	}
	return m
}

// handleMeta serves GET /api/v1/meta: the enumerations the page builds its
// filters and labels from — sources, school stages, colours, severities,
// alert statuses, hazard statuses, actions and categories — with their
// names. It needs no engine state, and is the same for every caller.
func (s *Server) handleMeta(c echo.Context) error {
	return c.JSON(http.StatusOK, s.meta)
}
