package audio

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeFixture runs a generator command (sox, ffmpeg, opusenc) that writes
// out; the test fails (or skips outside CI) when the tool is missing.
func makeFixture(t *testing.T, out string, tool string, args ...string) string {
	t.Helper()
	path := requireTool(t, tool)
	cmd := exec.Command(path, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, b)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("%s made no %s: %v", tool, out, err)
	}
	return out
}

// toneFile writes a 2 s, 1 kHz tone at -6 dBFS in the given container and
// encoding. Rates and channel counts differ on purpose: every path through
// the resampler and the down-mix is taken.
func toneFile(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	tone := "0.5*sin(2*PI*1000*t)"
	lavfi := func(stereo bool) []string {
		expr := tone
		if stereo {
			expr = tone + "|" + tone
		}
		return []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "aevalsrc=" + expr + ":s=44100:d=2"}
	}
	sine := lavfi(true)
	switch name {
	case "tone-22k-mono.wav":
		return makeFixture(t, out, "sox", "-n", "-r", "22050", "-c", "1", "-b", "16", out, "synth", "2", "sine", "1000", "vol", "0.5")
	case "tone-48k-stereo-float.wav":
		return makeFixture(t, out, "sox", "-n", "-r", "48000", "-c", "2", "-e", "floating-point", "-b", "32", out, "synth", "2", "sine", "1000", "vol", "0.5")
	case "tone-8bit.wav":
		return makeFixture(t, out, "sox", "-n", "-r", "16000", "-c", "1", "-b", "8", "-e", "unsigned", out, "synth", "2", "sine", "1000", "vol", "0.5")
	case "tone-44k-stereo.mp3":
		return makeFixture(t, out, "ffmpeg", append(sine, "-c:a", "libmp3lame", "-b:a", "128k", out)...)
	case "tone-44k-stereo.flac":
		return makeFixture(t, out, "ffmpeg", append(sine, "-c:a", "flac", out)...)
	case "tone-24bit.flac":
		return makeFixture(t, out, "sox", "-n", "-r", "96000", "-c", "1", "-b", "24", out, "synth", "2", "sine", "1000", "vol", "0.5")
	case "tone-stereo.opus":
		return makeFixture(t, out, "ffmpeg", append(sine, "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "60", out)...)
	case "tone.ogg-named.mp3": // an Ogg Opus file with the wrong extension
		return makeFixture(t, out, "ffmpeg", append(lavfi(false), "-c:a", "libopus", "-f", "ogg", out)...)
	}
	t.Fatalf("no recipe for %s", name)
	return ""
}

// TestImportFormats imports a tone in every format and checks the result
// decodes to the same tone: length, pitch (so the rate conversion is right)
// and level (so the down-mix and scaling are right).
func TestImportFormats(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ file, format string }{
		{"tone-22k-mono.wav", "WAV"},
		{"tone-48k-stereo-float.wav", "WAV"},
		{"tone-8bit.wav", "WAV"},
		{"tone-44k-stereo.mp3", "MP3"},
		{"tone-44k-stereo.flac", "FLAC"},
		{"tone-24bit.flac", "FLAC"},
		{"tone-stereo.opus", "Ogg Opus"},
		{"tone.ogg-named.mp3", "Ogg Opus"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := toneFile(t, dir, tc.file)
			var progress []float64
			im, err := ImportFile(context.Background(), path, ImportConfig{Progress: func(f float64) { progress = append(progress, f) }})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if im.Format != tc.format {
				t.Errorf("format %q, want %q", im.Format, tc.format)
			}
			if d := im.Duration; d < 1960*time.Millisecond || d > 2100*time.Millisecond {
				t.Errorf("duration %v, want about 2 s", d)
			}
			if len(im.Waveform) != WaveformPoints {
				t.Errorf("waveform has %d points, want %d", len(im.Waveform), WaveformPoints)
			}
			for i, p := range im.Packets {
				if p.Seq != uint32(i) || len(p.Data) == 0 {
					t.Fatalf("packet %d: seq %d, %d bytes", i, p.Seq, len(p.Data))
				}
			}
			if len(progress) == 0 || progress[len(progress)-1] != 1 {
				t.Errorf("progress %v, want it to end at 1", progress)
			}
			pcm, err := DecodeAll(context.Background(), NewSliceSource(im.Packets))
			if err != nil {
				t.Fatal(err)
			}
			mid := pcm[len(pcm)/4 : len(pcm)*3/4]
			if f := dominantFreq(mid, 500, 2000); math.Abs(f-1000) > 5 {
				t.Errorf("decoded tone at %.1f Hz, want 1000 (rate conversion)", f)
			}
			var sum float64
			for _, v := range mid {
				sum += float64(v) * float64(v)
			}
			rms := math.Sqrt(sum/float64(len(mid))) / 32768
			want := 0.5 / math.Sqrt2
			if db := 20 * math.Log10(rms/want); math.Abs(db) > 1.5 {
				t.Errorf("decoded level %.3f (%.1f dB off), want %.3f", rms, db, want)
			}
			t.Logf("%s: %s, %v, %d packets, level %.1f dB off", tc.file, im.Format, im.Duration, len(im.Packets), 20*math.Log10(rms/want))
		})
	}
}

// TestImportBadFiles: every bad file is a typed error naming its kind, and
// nothing comes back.
func TestImportBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	damage := func(src, name string, at float64) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		i := int(float64(len(b)) * at)
		for j := i; j < i+64 && j < len(b); j++ {
			b[j] ^= 0x5a
		}
		return write(name, b)
	}
	truncate := func(src, name string, n int) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, b[:n])
	}
	wav := toneFile(t, dir, "tone-22k-mono.wav")
	flac := toneFile(t, dir, "tone-44k-stereo.flac")
	opus := toneFile(t, dir, "tone-stereo.opus")
	silent := makeFixture(t, filepath.Join(dir, "silent.wav"), "sox", "-n", "-r", "48000", "-c", "1", "-b", "16", filepath.Join(dir, "silent.wav"), "trim", "0", "2")
	vorbis := makeFixture(t, filepath.Join(dir, "tone.ogg"), "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=1000:duration=1", "-c:a", "libvorbis", filepath.Join(dir, "tone.ogg"))
	wav24 := makeFixture(t, filepath.Join(dir, "tone24.wav"), "sox", "-n", "-r", "48000", "-c", "1", "-b", "24", filepath.Join(dir, "tone24.wav"), "synth", "1", "sine", "440")
	long := makeFixture(t, filepath.Join(dir, "long.wav"), "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", filepath.Join(dir, "long.wav"), "synth", "3", "sine", "440")
	longOpus := makeFixture(t, filepath.Join(dir, "long.opus"), "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "libopus", filepath.Join(dir, "long.opus"))

	cases := []struct {
		name string
		path string
		max  time.Duration
		want error
	}{
		{"empty file", write("empty.wav", nil), 0, ErrFileEmpty},
		{"silence", silent, 0, ErrFileEmpty},
		{"header only", truncate(wav, "header.wav", 44), 0, ErrFileEmpty},
		{"text file", write("notes.mp3", []byte("these are not the sounds you are looking for\n")), 0, ErrFileUnsupported},
		{"png", write("picture.wav", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")), 0, ErrFileUnsupported},
		{"ogg vorbis", vorbis, 0, ErrFileUnsupported},
		{"24-bit wav", wav24, 0, ErrFileUnsupported},
		{"cut wav header", truncate(wav, "cut.wav", 20), 0, ErrFileCorrupt},
		{"damaged flac", damage(flac, "damaged.flac", 0.5), 0, ErrFileCorrupt},
		{"cut flac", truncate(flac, "cut.flac", 30), 0, ErrFileCorrupt},
		{"damaged ogg opus", damage(opus, "damaged.opus", 0.5), 0, ErrFileCorrupt},
		{"cut ogg opus", truncate(opus, "cut.opus", 40), 0, ErrFileCorrupt},
		{"too long by header", long, 2 * time.Second, ErrFileTooLong},
		{"too long by content", longOpus, 2 * time.Second, ErrFileTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			im, err := ImportFile(context.Background(), tc.path, ImportConfig{MaxDuration: tc.max})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ie *ImportError
			if !errors.As(err, &ie) || ie.File != tc.path {
				t.Errorf("err %v is not an *ImportError naming the file", err)
			}
			if len(im.Packets) != 0 {
				t.Errorf("%d packets returned with the error", len(im.Packets))
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

// TestImportCancel: a cancelled context stops the import.
func TestImportCancel(t *testing.T) {
	path := toneFile(t, t.TempDir(), "tone-44k-stereo.flac")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ImportFile(ctx, path, ImportConfig{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"RIFF\x00\x00\x00\x00WAVE", "WAV"},
		{"fLaC\x00\x00\x00\x22", "FLAC"},
		{"OggS\x00\x02", "Ogg Opus"},
		{"ID3\x04\x00\x00", "MP3"},
		{"\xff\xfb\x90\x00", "MP3"},
		{"RIFF\x00\x00\x00\x00AVI ", ""},
		{"hello", ""},
		{"", ""},
	} {
		if got := sniff([]byte(tc.in)); got != tc.want {
			t.Errorf("sniff(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestResamplerRates checks pitch, length and level through the resampler
// for the rates files come in.
func TestResamplerRates(t *testing.T) {
	for _, from := range []int{8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000} {
		n := from / 2 // half a second
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/float64(from)))
		}
		r := newResampler(from, SampleRate)
		var out []float32
		for i := 0; i < n; i += 1000 { // blocks that are not frames
			out = r.push(in[i:min(i+1000, n)], out)
		}
		out = r.flush(out)
		want := n * SampleRate / from
		if d := len(out) - want; d < -2 || d > 2 {
			t.Errorf("%d Hz: %d samples out, want %d", from, len(out), want)
		}
		pcm := make([]int16, len(out))
		for i, v := range out {
			pcm[i] = floatToSample(v)
		}
		mid := pcm[len(pcm)/4 : len(pcm)*3/4]
		if f := dominantFreq(mid, 500, 2000); math.Abs(f-1000) > 2 {
			t.Errorf("%d Hz: tone at %.1f Hz, want 1000", from, f)
		}
		var peak int16
		for _, v := range mid {
			peak = max(peak, v)
		}
		if p := float64(peak) / 32768; math.Abs(p-0.5) > 0.02 {
			t.Errorf("%d Hz: peak %.3f, want 0.5", from, p)
		}
	}
}
