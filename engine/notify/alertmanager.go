package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// alertmanager posts the message in the payload of Alertmanager's webhook
// receiver, version 4.
type alertmanager struct {
	post      poster
	receiver  string
	maxAlerts int
}

func (a *alertmanager) Kind() string { return "alertmanager" }

func (a *alertmanager) Send(ctx context.Context, m *Message) error {
	if m.Kind == KindReport {
		// Receiver.ForReports leaves this channel out; a report is not an
		// alert that Alertmanager could route.
		return Permanent(errors.New("alertmanager: reports are not sent to Alertmanager"))
	}
	body, err := json.Marshal(newAMPayload(a.receiver, m, a.maxAlerts))
	if err != nil {
		return Permanent(fmt.Errorf("alertmanager: encode: %w", err))
	}
	h := http.Header{}
	h.Set(headerID, m.ID)
	code, answer, err := a.post.post(ctx, "", body, h)
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	if code/100 != 2 {
		return fmt.Errorf("alertmanager: %w", statusError(code, answer))
	}
	return nil
}

// amPayload mirrors Alertmanager's webhook payload (notify/webhook.Message).
type amPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []amAlert         `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// severity maps a colour to the severity label that Alertmanager setups
// conventionally route on.
func severity(l engine.Level) string {
	switch l {
	case engine.LevelRed:
		return "critical"
	case engine.LevelYellow:
		return "warning"
	}
	return "info"
}

func newAMPayload(receiver string, m *Message, maxAlerts int) amPayload {
	p := amPayload{
		Version:     "4",
		Receiver:    receiver,
		Status:      StatusResolved,
		GroupLabels: map[string]string{"school_id": m.SchoolID},
		ExternalURL: origin(m.URL),
	}
	p.GroupKey = "{}:{school_id=" + strconv.Quote(m.SchoolID) + "}"
	for _, it := range m.Items {
		status := StatusFiring
		if it.Status == StatusResolved {
			status = StatusResolved
		} else {
			p.Status = StatusFiring
		}
		endsAt := it.EndsAt
		if status == StatusResolved && endsAt.IsZero() {
			endsAt = m.At
		}
		labels := map[string]string{}
		for k, v := range map[string]string{
			"alertname": it.Rule,
			"school_id": m.SchoolID,
			"school":    m.SchoolName,
			"district":  m.District,
			"town":      m.Town,
			"level":     string(it.Level),
			"source":    string(it.Source),
			"severity":  severity(it.Level),
		} {
			if v != "" { // Alertmanager treats an empty label as absent
				labels[k] = v
			}
		}
		annotations := map[string]string{}
		if it.Title != "" {
			annotations["summary"] = it.Title
		}
		if it.Cause != "" {
			annotations["description"] = it.Cause
		}
		p.Alerts = append(p.Alerts, amAlert{
			Status:       status,
			Labels:       labels,
			Annotations:  annotations,
			StartsAt:     it.StartsAt,
			EndsAt:       endsAt,
			GeneratorURL: m.URL,
			Fingerprint:  it.AlertID,
		})
	}
	if p.Alerts == nil {
		p.Alerts = []amAlert{}
	}
	p.CommonLabels = common(p.Alerts, func(a amAlert) map[string]string { return a.Labels })
	p.CommonAnnotations = common(p.Alerts, func(a amAlert) map[string]string { return a.Annotations })
	if maxAlerts > 0 && len(p.Alerts) > maxAlerts {
		p.TruncatedAlerts = uint64(len(p.Alerts) - maxAlerts)
		p.Alerts = p.Alerts[:maxAlerts]
	}
	return p
}

// common returns the pairs that every alert has.
func common(alerts []amAlert, kv func(amAlert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	maps.Copy(out, kv(alerts[0]))
	for _, a := range alerts[1:] {
		m := kv(a)
		for _, k := range slices.Collect(maps.Keys(out)) {
			if v, ok := m[k]; !ok || v != out[k] {
				delete(out, k)
			}
		}
	}
	return out
}

// origin returns the scheme and host of u, or "".
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return ""
	}
	return strings.ToLower(p.Scheme) + "://" + p.Host
}
