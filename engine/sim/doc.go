// Package sim produces a realistic stream of campus-safety events for demos,
// load tests and end-to-end tests: visitors at the school gates, canteen
// records, drowning-prevention patrols and sensors, and bullying reports and
// screenings, each as the JSON of the event contract on its source's topic,
// keyed by school id, with a low rate of incidents so that some schools turn
// yellow or red.
//
// It also generates the demo school registry (GenerateRegistry,
// WriteRegistryCSV): a district of 嘉兴市 with plausible schools in each of its
// seven counties.
//
// The package deliberately holds no rules: which events are incidents is
// decided by the rule set that reads them. It only makes sure that every
// value it emits passes event.Decoder, except the malformed messages asked
// for with Options.Bad.
package sim
