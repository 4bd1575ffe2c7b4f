package audio

import (
	"fmt"
	"math"
)

// Cue is a short interface sound.
type Cue int

const (
	// CueTxStart plays when the talk key goes down: a quick rising blip.
	CueTxStart Cue = iota
	// CueTxEnd plays when the talk key is released: a falling blip.
	CueTxEnd
	// CueMessage plays when a message arrives: two soft chime notes.
	CueMessage
)

// cueNotes lists each cue's notes as (frequency Hz, duration ms).
var cueNotes = map[Cue][][2]float64{
	CueTxStart: {{880, 45}, {1320, 60}},
	CueTxEnd:   {{1320, 45}, {880, 60}},
	CueMessage: {{1047, 110}, {1568, 180}},
}

// CuePCM renders a cue as 48 kHz mono samples at about -14 dBFS peak so
// that it sits under speech when mixed. Each note has a 5 ms attack and an
// exponential decay, so there are no clicks.
func CuePCM(c Cue) ([]int16, error) {
	notes, ok := cueNotes[c]
	if !ok {
		return nil, fmt.Errorf("audio: unknown cue %d", c)
	}
	var out []int16
	for _, n := range notes {
		freq, ms := n[0], n[1]
		count := int(ms * SampleRate / 1000)
		attack := float64(5 * SampleRate / 1000)
		for i := range count {
			env := math.Min(1, float64(i)/attack) * math.Exp(-3*float64(i)/float64(count))
			if tail := float64(count - i); tail < attack {
				env *= tail / attack
			}
			v := 0.2 * env * (math.Sin(2*math.Pi*freq*float64(i)/SampleRate) +
				0.25*math.Sin(4*math.Pi*freq*float64(i)/SampleRate))
			out = append(out, int16(v*32767))
		}
	}
	return out, nil
}

// PlayCue mixes a cue into the output, on top of whatever plays. It
// returns at once; safe from any goroutine.
func (e *Engine) PlayCue(c Cue) error {
	pcm, err := CuePCM(c)
	if err != nil {
		return err
	}
	v := newVoice(len(pcm))
	v.write(pcm)
	v.finish()
	e.mix.add(v)
	err = e.wakePlayback()
	e.mix.poke()
	return err
}
