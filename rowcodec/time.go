package rowcodec

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
)

// Calendar constants of src/include/datatype/timestamp.h.
const (
	postgresEpochJDate = 2451545 // 2000-01-01 as a Julian day
	unixEpochJDate     = 2440588 // 1970-01-01
	usecsPerSec        = 1_000_000
	usecsPerMinute     = 60 * usecsPerSec
	usecsPerHour       = 60 * usecsPerMinute
	usecsPerDay        = 24 * usecsPerHour
	secsPerDay         = 86400
	// postgresToUnixSecs is 2000-01-01 in Unix seconds.
	postgresToUnixSecs = (postgresEpochJDate - unixEpochJDate) * secsPerDay
)

// floorDiv divides rounding towards minus infinity, and returns the
// (non-negative) remainder too.
func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// civil converts a Julian day number to a proleptic Gregorian date with
// astronomical years (0 is 1 BC), as j2date (src/backend/utils/adt/
// datetime.c) does on its range, but for every int64 (H. Hinnant's
// days-to-civil algorithm), so that malformed values still print.
func civil(jd int64) (year int64, month, day int) {
	z := jd - unixEpochJDate + 719468
	era, doe := floorDiv(z, 146097)
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		month = int(mp + 3)
	} else {
		month = int(mp - 9)
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// append2 appends v (0..99) as two digits.
func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// appendYMD prints a date as EncodeDateOnly does in the ISO and XSD styles:
// the year zero-padded to four digits (BC years counted from 1), month and
// day; the caller adds " BC" at the very end when bc is true.
func appendYMD(dst []byte, year int64, month, day int) (out []byte, bc bool) {
	if year <= 0 {
		year = -(year - 1)
		bc = true
	}
	if year < 10000 {
		dst = append2(dst, int(year/100))
		dst = append2(dst, int(year%100))
	} else {
		dst = strconv.AppendInt(dst, year, 10)
	}
	dst = append(dst, '-')
	dst = append2(dst, month)
	dst = append(dst, '-')
	return append2(dst, day), bc
}

// appendClock prints a time of day in microseconds (0..24h) as
// EncodeTimeOnly does: HH:MM:SS and, when there is a fraction, up to six
// fraction digits without trailing zeros (AppendSeconds).
func appendClock(dst []byte, t int64) []byte {
	h := t / usecsPerHour
	t -= h * usecsPerHour
	m := t / usecsPerMinute
	t -= m * usecsPerMinute
	s := t / usecsPerSec
	dst = append2(dst, int(h))
	dst = append(dst, ':')
	dst = append2(dst, int(m))
	dst = append(dst, ':')
	return appendSeconds(dst, s, t-s*usecsPerSec, true)
}

// appendSeconds is AppendSeconds with MAX_TIME_PRECISION (6): whole
// seconds (two digits with fillzeros) and, when fsec is not zero, a point
// and the microseconds without trailing zeros. Signs are dropped.
func appendSeconds(dst []byte, sec, fsec int64, fillzeros bool) []byte {
	if sec < 0 {
		sec = -sec
	}
	switch {
	case sec < 100 && (fillzeros || sec >= 10):
		dst = append2(dst, int(sec))
	case sec < 10:
		dst = append(dst, byte('0'+sec))
	default:
		dst = strconv.AppendInt(dst, sec, 10)
	}
	if fsec == 0 {
		return dst
	}
	if fsec < 0 {
		fsec = -fsec
	}
	if fsec >= usecsPerSec {
		// AppendSeconds falls back to printing the raw count.
		return strconv.AppendInt(append(dst, '.'), fsec, 10)
	}
	var frac [6]byte
	n := 0
	for i := 5; i >= 0; i-- {
		d := byte(fsec % 10)
		fsec /= 10
		frac[i] = '0' + d
		if n == 0 && d != 0 {
			n = i + 1
		}
	}
	dst = append(dst, '.')
	return append(dst, frac[:n]...)
}

// appendTZ prints a UTC offset as EncodeTimezone does: the sign, HH, then
// :MM when the minutes are not zero or always (the XSD style row_to_json
// uses for timestamptz; its timetz output drops zero minutes), then :SS
// when the seconds are not zero. gmtoff is seconds east of UTC (PostgreSQL's
// tz is its negation).
func appendTZ(dst []byte, gmtoff int64, alwaysMinutes bool) []byte {
	if gmtoff >= 0 {
		dst = append(dst, '+')
	} else {
		dst = append(dst, '-')
		gmtoff = -gmtoff
	}
	h, m, s := gmtoff/3600, gmtoff/60%60, gmtoff%60
	if h < 100 {
		dst = append2(dst, int(h))
	} else {
		dst = strconv.AppendInt(dst, h, 10)
	}
	if m == 0 && s == 0 && !alwaysMinutes {
		return dst
	}
	dst = append(dst, ':')
	dst = append2(dst, int(m))
	if s != 0 {
		dst = append(dst, ':')
		dst = append2(dst, int(s))
	}
	return dst
}

// appendDate decodes date_send (src/backend/utils/adt/date.c): int32 days
// since 2000-01-01, with the extremes meaning -infinity and infinity. It
// prints JsonEncodeDateTime's text (ISO, whatever the DateStyle).
func appendDate(dst, src []byte) ([]byte, error) {
	if len(src) != 4 {
		return dst, errLength
	}
	d := int32(binary.BigEndian.Uint32(src))
	switch d {
	case math.MinInt32:
		return append(dst, `"-infinity"`...), nil
	case math.MaxInt32:
		return append(dst, `"infinity"`...), nil
	}
	y, m, day := civil(int64(d) + postgresEpochJDate)
	dst = append(dst, '"')
	dst, bc := appendYMD(dst, y, m, day)
	if bc {
		dst = append(dst, " BC"...)
	}
	return append(dst, '"'), nil
}

// appendTime decodes time_send: int64 microseconds since midnight, up to
// and including 24:00:00.
func appendTime(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, errLength
	}
	t := int64(binary.BigEndian.Uint64(src))
	if t < 0 || t > usecsPerDay {
		return dst, errRange
	}
	dst = append(dst, '"')
	dst = appendClock(dst, t)
	return append(dst, '"'), nil
}

// appendTimeTZ decodes timetz_send: int64 microseconds since midnight and
// int32 zone in seconds west of UTC. It prints HH:MM:SS[.ffffff]±HH:MM[:SS].
func appendTimeTZ(dst, src []byte) ([]byte, error) {
	if len(src) != 12 {
		return dst, errLength
	}
	t := int64(binary.BigEndian.Uint64(src))
	zone := int64(int32(binary.BigEndian.Uint32(src[8:])))
	if t < 0 || t > usecsPerDay {
		return dst, errRange
	}
	dst = append(dst, '"')
	dst = appendClock(dst, t)
	dst = appendTZ(dst, -zone, false)
	return append(dst, '"'), nil
}

// appendTimestamp decodes timestamp_send (src/backend/utils/adt/
// timestamp.c): int64 microseconds since 2000-01-01 00:00, the extremes
// meaning -infinity and infinity. It prints JsonEncodeDateTime's XSD text,
// YYYY-MM-DDTHH:MM:SS[.ffffff][ BC].
func appendTimestamp(dst, src []byte) ([]byte, error) {
	ts, dst, done, err := decodeTimestamp(dst, src)
	if done || err != nil {
		return dst, err
	}
	days, tod := floorDiv(ts, usecsPerDay)
	dst = append(dst, '"')
	dst = appendDateTime(dst, days, tod, 0, false)
	return append(dst, '"'), nil
}

// appendTimestampTZ decodes timestamptz_send (the same int64, in UTC) and
// prints it in loc (the session TimeZone; nil is UTC) as row_to_json does:
// the local date and time, then the offset in force there, with seconds
// when the zone has them (local mean time before standard time).
func appendTimestampTZ(dst, src []byte, loc *time.Location) ([]byte, error) {
	ts, dst, done, err := decodeTimestamp(dst, src)
	if done || err != nil {
		return dst, err
	}
	days, tod := floorDiv(ts, usecsPerDay)
	var off int64
	if loc != nil && loc != time.UTC {
		_, o := time.Unix(days*secsPerDay+tod/usecsPerSec+postgresToUnixSecs, 0).In(loc).Zone()
		off = int64(o)
		// Shift the time of day by the offset; carry whole days.
		var carry int64
		carry, tod = floorDiv(tod+off*usecsPerSec, usecsPerDay)
		days += carry
	}
	dst = append(dst, '"')
	dst = appendDateTime(dst, days, tod, off, true)
	return append(dst, '"'), nil
}

// decodeTimestamp reads the int64 both timestamp types send. The extremes
// stand for -infinity and infinity, which it appends itself (done).
func decodeTimestamp(dst, src []byte) (ts int64, out []byte, done bool, err error) {
	if len(src) != 8 {
		return 0, dst, false, errLength
	}
	ts = int64(binary.BigEndian.Uint64(src))
	switch ts {
	case math.MinInt64:
		return ts, append(dst, `"-infinity"`...), true, nil
	case math.MaxInt64:
		return ts, append(dst, `"infinity"`...), true, nil
	}
	return ts, dst, false, nil
}

// appendDateTime prints days since 2000-01-01 and a time of day as
// EncodeDateTime does in the XSD style, with the offset when withTZ.
func appendDateTime(dst []byte, days, tod, gmtoff int64, withTZ bool) []byte {
	y, m, d := civil(days + postgresEpochJDate)
	dst, bc := appendYMD(dst, y, m, d)
	dst = append(dst, 'T')
	dst = appendClock(dst, tod)
	if withTZ {
		dst = appendTZ(dst, gmtoff, true)
	}
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}
