package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// oggReader demultiplexes the first logical stream of an Ogg file into
// packets (RFC 3533), checking every page's CRC.
type oggReader struct {
	r       io.Reader
	serial  uint32
	started bool
	packets [][]byte // complete packets of the current page
	partial []byte   // a packet continued on the next page
	eos     bool
	granule int64 // of the last page read
}

func (o *oggReader) next() ([]byte, error) {
	for len(o.packets) == 0 {
		if o.eos {
			return nil, io.EOF
		}
		if err := o.readPage(); err != nil {
			return nil, err
		}
	}
	p := o.packets[0]
	o.packets = o.packets[1:]
	return p, nil
}

func (o *oggReader) readPage() error {
	var hdr [27]byte
	if _, err := io.ReadFull(o.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) && o.started {
			o.eos = true // no end-of-stream flag, but the file ended on a page boundary
			return io.EOF
		}
		return fmt.Errorf("ogg page header: %w", noEOF(err))
	}
	if string(hdr[0:4]) != "OggS" || hdr[4] != 0 {
		return errors.New("ogg: lost page sync")
	}
	flags := hdr[5]
	granule := int64(binary.LittleEndian.Uint64(hdr[6:]))
	serial := binary.LittleEndian.Uint32(hdr[14:])
	crc := binary.LittleEndian.Uint32(hdr[22:])
	lacing := make([]byte, hdr[26])
	if _, err := io.ReadFull(o.r, lacing); err != nil {
		return fmt.Errorf("ogg lacing: %w", noEOF(err))
	}
	size := 0
	for _, l := range lacing {
		size += int(l)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(o.r, body); err != nil {
		return fmt.Errorf("ogg page body: %w", noEOF(err))
	}
	page := make([]byte, 0, 27+len(lacing)+size)
	page = append(page, hdr[:]...)
	binary.LittleEndian.PutUint32(page[22:], 0)
	page = append(page, lacing...)
	page = append(page, body...)
	if oggCRC(page) != crc {
		return errors.New("ogg: page checksum mismatch")
	}
	if !o.started {
		if flags&0x02 == 0 {
			return errors.New("ogg: first page does not begin a stream")
		}
		o.serial, o.started = serial, true
	}
	if serial != o.serial {
		return nil // another logical stream (multiplexed): skip
	}
	o.granule = granule
	if flags&0x01 == 0 { // not a continuation: a pending partial packet was cut
		o.partial = o.partial[:0]
	}
	off := 0
	for _, l := range lacing {
		o.partial = append(o.partial, body[off:off+int(l)]...)
		off += int(l)
		if l < 255 {
			o.packets = append(o.packets, o.partial)
			o.partial = nil
		}
	}
	if flags&0x04 != 0 {
		o.eos = true
	}
	return nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maxOpusFrame is the longest Opus packet, 120 ms at 48 kHz.
const maxOpusFrame = 5760

// oggOpusDecoder decodes an Ogg Opus file (RFC 7845) with libopus, the
// decoder the rest of the package uses, mixed down to mono at 48 kHz.
type oggOpusDecoder struct {
	ogg     oggReader
	dec     *opus.Decoder
	preSkip int
	gain    float32
	pcm     []int16
}

func newOggOpusDecoder(r io.Reader) (*oggOpusDecoder, error) {
	d := &oggOpusDecoder{ogg: oggReader{r: r}, pcm: make([]int16, maxOpusFrame)}
	head, err := d.ogg.next()
	if err != nil {
		return nil, fmt.Errorf("ogg opus header: %w", noEOF(err))
	}
	if !bytes.HasPrefix(head, []byte("OpusHead")) {
		if bytes.HasPrefix(head, []byte("\x01vorbis")) {
			return nil, fmt.Errorf("ogg: %w: Vorbis", errUnsupportedEncoding)
		}
		return nil, fmt.Errorf("ogg: %w: not Opus", errUnsupportedEncoding)
	}
	if len(head) < 19 || head[8]&0xf0 != 0 {
		return nil, errors.New("ogg opus: bad OpusHead")
	}
	channels := int(head[9])
	if channels == 0 {
		return nil, errors.New("ogg opus: zero channels")
	}
	if head[18] != 0 || channels > 2 {
		return nil, fmt.Errorf("ogg opus: %w: %d channels, mapping family %d", errUnsupportedEncoding, channels, head[18])
	}
	d.preSkip = int(binary.LittleEndian.Uint16(head[10:]))
	gainQ8 := int16(binary.LittleEndian.Uint16(head[16:]))
	d.gain = float32(math.Pow(10, float64(gainQ8)/256/20))
	tags, err := d.ogg.next()
	if err != nil {
		return nil, fmt.Errorf("ogg opus tags: %w", noEOF(err))
	}
	if !bytes.HasPrefix(tags, []byte("OpusTags")) {
		return nil, errors.New("ogg opus: missing OpusTags")
	}
	// A mono decoder downmixes a stereo stream.
	if d.dec, err = opus.NewDecoder(SampleRate, 1); err != nil {
		return nil, fmt.Errorf("ogg opus: %w", err)
	}
	return d, nil
}

func (d *oggOpusDecoder) rate() int { return SampleRate }

func (d *oggOpusDecoder) length() (time.Duration, bool) { return 0, false }

func (d *oggOpusDecoder) read(dst []float32) ([]float32, error) {
	p, err := d.ogg.next()
	if err != nil {
		return dst, err
	}
	if len(p) == 0 {
		return dst, nil
	}
	n, err := d.dec.Decode(p, d.pcm)
	if err != nil {
		return dst, fmt.Errorf("ogg opus packet: %w", err)
	}
	s := d.pcm[:n]
	if d.preSkip > 0 {
		k := min(d.preSkip, len(s))
		s, d.preSkip = s[k:], d.preSkip-k
	}
	for _, v := range s {
		dst = append(dst, float32(v)/32768*d.gain)
	}
	return dst, nil
}
