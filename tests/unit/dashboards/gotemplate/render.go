// Renders heatwatch alert text the way Grafana does, with Go's own text/template:
// 1. each rule annotation is expanded per alert instance with Grafana's prelude
//    ({{ $labels := .Labels }}{{ $values := .Values }}{{ $value := .Value }});
// 2. the notification template (templates.yaml) renders title and message from
//    Grafana's notification data shape (ExtendedData / ExtendedAlert).
// Input: JSON on stdin (see tests/unit/dashboards/test_alert_text.py). Output: JSON.
// Only the standard library: `go run render.go` needs no module download.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"
)

type NumberValueCapture struct {
	Var    string
	Labels map[string]string
	Value  *float64
}

type annotationData struct {
	Labels map[string]string
	Values map[string]NumberValueCapture
	Value  string
}

type ExtendedAlert struct {
	Status       string
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
	Fingerprint  string
	SilenceURL   string
	DashboardURL string
	PanelURL     string
	Values       map[string]float64
	ValueString  string
}

type ExtendedAlerts []ExtendedAlert

func (as ExtendedAlerts) Firing() []ExtendedAlert   { return as.with("firing") }
func (as ExtendedAlerts) Resolved() []ExtendedAlert { return as.with("resolved") }
func (as ExtendedAlerts) with(status string) []ExtendedAlert {
	out := []ExtendedAlert{}
	for _, a := range as {
		if a.Status == status {
			out = append(out, a)
		}
	}
	return out
}

type ExtendedData struct {
	Receiver          string
	Status            string
	Alerts            ExtendedAlerts
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	ExternalURL       string
}

type inputAlert struct {
	Status      string             `json:"status"`
	RuleLabels  map[string]string  `json:"rule_labels"`
	Labels      map[string]string  `json:"labels"`
	Values      map[string]float64 `json:"values"`
	Annotations map[string]string  `json:"annotations"`
	AlertName   string             `json:"alertname"`
	StartsAt    time.Time          `json:"starts_at"`
	EndsAt      time.Time          `json:"ends_at"`
}

type input struct {
	Template    string       `json:"template"`
	ExternalURL string       `json:"external_url"`
	Alerts      []inputAlert `json:"alerts"`
}

var funcs = template.FuncMap{
	"reReplaceAll": func(pattern, repl, text string) string {
		return regexp.MustCompile(pattern).ReplaceAllString(text, repl)
	},
	"toUpper": strings.ToUpper,
	"toLower": strings.ToLower,
}

const prelude = "{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}"

func expand(name, text string, data any) string {
	t, err := template.New(name).Option("missingkey=zero").Funcs(funcs).Parse(prelude + text)
	if err != nil {
		fail(err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		fail(err)
	}
	return b.String()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func common(alerts []ExtendedAlert, get func(ExtendedAlert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	for k, v := range get(alerts[0]) {
		same := true
		for _, a := range alerts[1:] {
			if get(a)[k] != v {
				same = false
			}
		}
		if same {
			out[k] = v
		}
	}
	return out
}

func annotationsOf(alerts []ExtendedAlert) []map[string]string {
	out := []map[string]string{}
	for _, a := range alerts {
		out = append(out, a.Annotations)
	}
	return out
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(err)
	}
	data := ExtendedData{Receiver: "test", Status: "resolved", ExternalURL: in.ExternalURL}
	for i, a := range in.Alerts {
		values := map[string]NumberValueCapture{}
		for k, v := range a.Values {
			v := v
			values[k] = NumberValueCapture{Var: k, Labels: a.Labels, Value: &v}
		}
		ad := annotationData{Labels: a.Labels, Values: values}
		annotations := map[string]string{}
		keys := make([]string, 0, len(a.Annotations))
		for k := range a.Annotations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			annotations[k] = expand(fmt.Sprintf("%d-%s", i, k), a.Annotations[k], ad)
		}
		labels := map[string]string{"alertname": a.AlertName}
		for k, v := range a.RuleLabels {
			labels[k] = v
		}
		for k, v := range a.Labels {
			labels[k] = v
		}
		if a.Status == "firing" {
			data.Status = "firing"
		}
		data.Alerts = append(data.Alerts, ExtendedAlert{
			Status: a.Status, Labels: labels, Annotations: annotations,
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, Values: a.Values,
		})
	}
	data.CommonLabels = common(data.Alerts, func(a ExtendedAlert) map[string]string { return a.Labels })
	data.CommonAnnotations = common(data.Alerts, func(a ExtendedAlert) map[string]string { return a.Annotations })
	data.GroupLabels = data.CommonLabels

	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(in.Template)
	if err != nil {
		fail(err)
	}
	render := func(text string) string {
		t, err := template.Must(tmpl.Clone()).New("x").Parse(text)
		if err != nil {
			fail(err)
		}
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			fail(err)
		}
		return b.String()
	}
	out := map[string]any{
		"title":       render(`{{ template "heatwatch.title" . }}`),
		"message":     render(`{{ template "heatwatch.message" . }}`),
		"annotations": annotationsOf(data.Alerts),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}
