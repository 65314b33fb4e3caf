package alert

import "github.com/sanse-campus/sanse/engine"

// Inhibition: while a school is red, its yellow alerts are not sent on
// their own (neither first messages, repeats nor escalations); the red
// alert speaks for the school.

// inhibitedComment is recorded on an alert whose first message was inhibited.
const inhibitedComment = "学校已为红色预警，黄色预警不再单独发送"

// inhibited reports whether a is a yellow alert of a red school: the
// school's colour is red and one of its active alerts is red.
func inhibited(a *Alert, schoolLevel engine.Level, school []*Alert) bool {
	if a.Level == engine.LevelRed || schoolLevel != engine.LevelRed {
		return false
	}
	for _, x := range school {
		if x.Level == engine.LevelRed {
			return true
		}
	}
	return false
}

// splitInhibited splits the alerts of one school into those to send and
// those inhibited, keeping their order.
func splitInhibited(alerts []*Alert, schoolLevel engine.Level, school []*Alert) (send, held []*Alert) {
	for _, a := range alerts {
		if inhibited(a, schoolLevel, school) {
			held = append(held, a)
		} else {
			send = append(send, a)
		}
	}
	return send, held
}
