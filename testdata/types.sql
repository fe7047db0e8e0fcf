-- pgfast rowcodec reference: a table with a column for every type rowcodec
-- decodes (DESIGN.md section 5) and an array column for each, filled with edge
-- values. rowcodec's JSON of `SELECT * FROM types` (binary results) must equal
-- PostgreSQL's own row_to_json of the same rows (rowcodec/pg_test.go).
-- Row 1 is all NULL; every later row stresses a theme.

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'quote" and back\slash', 'ünïcödé 😀');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE geo AS (lat float8, lon float8, label text);
CREATE TYPE address AS (street text, zip posint, geo geo, tags text[], moods mood[], since date);
-- A composite with a dropped attribute: record_send leaves it out.
CREATE TYPE pair AS (a int4, gone text, b numeric);
ALTER TYPE pair DROP ATTRIBUTE gone;

CREATE TABLE types (
    id              int4 PRIMARY KEY,
    c_int2          int2,
    c_int4          int4,
    c_int8          int8,
    c_oid           oid,
    c_float4        float4,
    c_float8        float8,
    c_numeric       numeric,
    c_numeric_neg   numeric(5,-2),
    c_bool          bool,
    c_text          text,
    c_varchar       varchar(40),
    c_bpchar        char(8),
    c_name          name,
    c_char          "char",
    c_json          json,
    c_jsonb         jsonb,
    c_uuid          uuid,
    c_bytea         bytea,
    c_date          date,
    c_time          time,
    c_timetz        timetz,
    c_timestamp     timestamp,
    c_timestamptz   timestamptz,
    c_interval      interval,
    c_inet          inet,
    c_cidr          cidr,
    c_macaddr       macaddr,
    c_macaddr8      macaddr8,
    c_money         money,
    c_mood          mood,
    c_posint        posint,
    c_address       address,
    c_pair          pair,
    a_int2          int2[],
    a_int4          int4[],
    a_int8          int8[],
    a_oid           oid[],
    a_float4        float4[],
    a_float8        float8[],
    a_numeric       numeric[],
    a_bool          bool[],
    a_text          text[],
    a_varchar       varchar(10)[],
    a_bpchar        char(3)[],
    a_name          name[],
    a_char          "char"[],
    a_json          json[],
    a_jsonb         jsonb[],
    a_uuid          uuid[],
    a_bytea         bytea[],
    a_date          date[],
    a_time          time[],
    a_timetz        timetz[],
    a_timestamp     timestamp[],
    a_timestamptz   timestamptz[],
    a_interval      interval[],
    a_inet          inet[],
    a_cidr          cidr[],
    a_macaddr       macaddr[],
    a_macaddr8      macaddr8[],
    a_money         money[],
    a_mood          mood[],
    a_posint        posint[],
    a_address       address[],
    a_pair          pair[]
);

-- 1: every column NULL.
INSERT INTO types (id) VALUES (1);

-- 2: ordinary values.
INSERT INTO types VALUES (2,
    42, 123456, 1234567890123, 16384, 1.5, 3.14159265358979, 12345.6789, 12345,
    true, 'hello, world', 'varchar value', 'ab', 'a_name', 'x',
    '{"a": [1, 2, {"b": null}], "c": "x"}', '{"nested": {"arr": [1, 2.50, true, null, "x"]}, "num": 1e2}',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x0001feff',
    '2024-02-29', '12:34:56.789', '12:34:56.789+05:30', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+00',
    '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
    '1234567.89', 'happy', 7,
    ROW('1 "Main" St\', 42, ROW(51.5, -0.12, 'here'), ARRAY['a', NULL, 'c'], ARRAY['sad', 'happy']::mood[], '2000-01-01'),
    ROW(1, 2.5),
    '{1,2,3}', '{1,NULL,3}', '{9223372036854775807}', '{0,4294967295}', '{1.5,NULL}', '{0.1,0.2}', '{1.10,NULL,-3}',
    '{t,f,NULL}', '{"a","b c",NULL,"NULL",""}', '{x,y}', '{a,bc}', '{n1,n2}', '{a,b}',
    ARRAY['{"a":1}', '[1, 2]', 'null', NULL]::json[], ARRAY['{"b": [true]}', '"s"', NULL]::jsonb[],
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', '{"\\x00","\\xff10",NULL}',
    '{2024-01-01,infinity,NULL}', '{00:00:00,24:00:00}', '{00:00:00+00,12:00:00-03:30}',
    '{"2024-01-01 00:00:00","-infinity"}', '{"2024-01-01 00:00:00+00","infinity"}',
    '{"1 day","-1 mon",NULL}', '{192.168.0.1,::1}', '{10.0.0.0/8}', '{08:00:2b:01:02:03}', '{08:00:2b:01:02:03:04:05}',
    '{1.00,-2.50}', '{sad,ok,NULL}', '{1,2,NULL}',
    ARRAY[ROW('x', 1, NULL, '{}', '{}', 'infinity')::address, NULL],
    ARRAY[ROW(1, 2.5)::pair, ROW(NULL, NULL)::pair]
);

-- 3: minimum values, BC dates and times, multi-dimensional arrays.
INSERT INTO types (id, c_int2, c_int4, c_int8, c_oid, c_float4, c_float8, c_numeric, c_numeric_neg,
    c_bool, c_text, c_varchar, c_bpchar, c_name, c_char, c_json, c_jsonb, c_uuid, c_bytea,
    c_date, c_time, c_timetz, c_timestamp, c_timestamptz, c_interval, c_inet, c_cidr,
    c_macaddr, c_macaddr8, c_money, c_mood, c_posint, c_address, c_pair,
    a_int2, a_int4, a_int8, a_float8, a_numeric, a_text, a_date, a_timestamp, a_timestamptz, a_interval,
    a_bool, a_char, a_uuid)
VALUES (3, -32768, -2147483648, -9223372036854775808, 0, -3.4028235e+38, -1.7976931348623157e308,
    -0.000000000000000000001, -99949,
    false, '', '', '', '', '', '[]', '[]', '00000000-0000-0000-0000-000000000000', '\x',
    '4713-11-24 BC', '00:00:00', '00:00:00+15:59', '4713-11-24 00:00:00 BC', '4713-11-24 00:00:00+00 BC',
    '-178000000 years', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00',
    '-92233720368547758.08', 'sad', 1,
    ROW(NULL, NULL, NULL, NULL, NULL, NULL), ROW(NULL, NULL),
    '[0:2]={-32768,0,32767}', '{{1,NULL},{3,4}}', '[-5:-4]={7,8}',
    '{{{1.5,2},{3,4}},{{5,6},{7,NULL}}}', '[2:3][1:1]={{1e-10},{NaN}}', '{{"a","b"},{NULL,"d"}}',
    '{0044-03-15 BC,0001-01-01 BC,0001-01-01}', '{"0001-12-31 23:59:59.999999 BC"}',
    '{"0044-03-15 12:00:00+00 BC","0001-01-01 00:00:00+00"}', '{{"1 day","2 days"},{"3 days",NULL}}',
    '{}', '{}', '{}');

-- 4: maximum values.
INSERT INTO types (id, c_int2, c_int4, c_int8, c_oid, c_float4, c_float8, c_numeric, c_numeric_neg,
    c_bool, c_text, c_bpchar, c_name, c_char, c_json, c_jsonb, c_uuid, c_bytea,
    c_date, c_time, c_timetz, c_timestamp, c_timestamptz, c_interval, c_inet, c_cidr,
    c_macaddr, c_money, c_mood, c_posint)
VALUES (4, 32767, 2147483647, 9223372036854775807, 4294967295, 3.4028235e+38, 1.7976931348623157e308,
    repeat('9', 1000)::numeric, 99949,
    true, repeat('long text ', 500), 'abcdefgh', repeat('n', 63), '~', 'null', 'null',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    (SELECT string_agg(set_byte('\x00'::bytea, 0, i), ''::bytea ORDER BY i) FROM generate_series(0, 255) i),
    '5874897-12-31', '24:00:00', '24:00:00-15:59', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00',
    '178000000 years', '255.255.255.255', '255.255.255.255/32', 'ff:ff:ff:ff:ff:ff', '92233720368547758.07',
    'ünïcödé 😀', 2147483647);

-- 5: NaN, infinities, negative zero, special dates and numbers.
INSERT INTO types (id, c_float4, c_float8, c_numeric, c_date, c_timestamp, c_timestamptz, c_interval,
    c_time, c_timetz, c_money, c_inet, c_cidr, c_char,
    a_float4, a_float8, a_numeric, a_date, a_timestamp, a_timestamptz, a_money, a_oid)
VALUES (5, 'NaN', 'NaN', 'NaN', 'infinity', 'infinity', 'infinity', '0',
    '23:59:59.999999', '23:59:59.999999+00', 0, '::', '::/0', 'é',
    '{NaN,Infinity,-Infinity,-0,0,1.4e-45,1.17549435e-38,123456,1234567,0.0001,0.00001,1.5,-2.5e-5,0.1,100000,1e6,16777216,3.4028235e38}',
    '{NaN,Infinity,-Infinity,-0,0,5e-324,2.2250738585072014e-308,0.1,123456789012345,1e15,1e-5,0.0001,-1e100,9007199254740993,1e21,1e22,123456789012345678,0.30000000000000004}',
    '{NaN,Infinity,-Infinity,0,0.000,-0.5,1e-20,12345678901234567890.123456789,10000,0.0001,100000000}',
    '{infinity,-infinity}', '{infinity,-infinity}', '{infinity,-infinity}',
    '{0,0.01,-0.01,1000,-1000000.5}', '{1,2,4294967295}');

INSERT INTO types (id, c_float4, c_float8, c_numeric, c_date, c_timestamp, c_timestamptz, c_interval, c_time, c_timetz)
VALUES (6, 'Infinity', '-Infinity', 'Infinity', '-infinity', '-infinity', '-infinity', '-00:00:00.000001',
    '00:00:00.000001', '00:00:00.000001-00:30'),
       (7, '-Infinity', 'Infinity', '-Infinity', '0044-03-15 BC', '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00+00 BC',
    '1 mon -1 day', '12:00:00', '12:00:00+14:00'),
       (8, '-0', '-0', '0.000', '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00',
    '-1 year -2 mons +3 days -04:05:06', '06:07:08.5', '06:07:08.5-03:30');

-- 9: every escape and control character, 4-byte UTF-8.
INSERT INTO types (id, c_text, c_varchar, c_bpchar, c_name, c_char, c_json, c_jsonb, a_text, a_char, c_mood, a_mood, c_address)
VALUES (9,
    (SELECT string_agg(chr(i), '' ORDER BY i) FROM generate_series(1, 31) i)
        || ' "quote" \back\slash /slash ' || chr(127) || chr(128) || ' é ü ß ' || chr(8232) || chr(8233) || chr(65279)
        || ' 😀 𝄞 ' || chr(1114111),
    E'tab\there\nnewline', E'\t"\\', 'naïve', '"',
    '{"esc": "\" \\ \/ \b \f \n \r \t \u0001 \u001f \u00e9 \ud83d\ude00", "a": 1, "a": 2, "num": 1e400, "n2": -0.0E-5}',
    '{"esc": "\" \\ \/ \b \f \n \r \t \u0001 \u001f \u00e9 \ud83d\ude00", "😀": [1.0, -0, 1e-7]}',
    ARRAY[E'a\nb', '"', '\', 'NULL', 'null', ' spaced ', chr(1), '😀'], ARRAY['"', '\', 'é']::"char"[],
    'quote" and back\slash', '{"quote\" and back\\slash","ünïcödé 😀"}',
    ROW(E'\u0001\u001f"\\', NULL, ROW('NaN', '-Infinity', E'\n'), ARRAY['{', '}', ','], '{}', '-infinity'));

-- 10: numerics: tiny, huge, many digits, negative scale.
INSERT INTO types (id, c_numeric, c_numeric_neg, a_numeric)
VALUES (10, ('0.' || repeat('0', 999) || '1')::numeric, 12345,
    ARRAY[('1' || repeat('0', 5000))::numeric, ('-' || repeat('1234567890', 100) || '.' || repeat('0987654321', 100))::numeric,
          0.1::numeric(1000, 999), 1e-1000, -1e131071]),
       (11, '1e131071'::numeric, 0, '{0.00000001,99999999.99999999}'),
       (12, '-123456789012345678901234567890.123456789012345678901234567890', -12345, '{}');

-- 13: intervals in every shape.
INSERT INTO types (id, c_interval, a_interval)
VALUES (13, '2147483647 days 2562047788:00:54.775807',
    ARRAY['-2147483648 days -2562047788:00:54.775807', '1 year', '-1 year', '1 mon', '3 days', '-3 days 5 hours',
          '00:00:01', '-00:00:01', '1 day 00:00:01', '-1 day +01:00', '1 year -1 mon', '1.5 seconds',
          '0.000001 seconds', '-0.5 seconds', '1 year 2 mons', '-1 year -2 mons', '3 days 4 hours', '-3 days -4 hours',
          '1 mon 2 days -3 hours', '100 hours', '-100 hours', '1 day -1 sec', '7 mons -3 days +00:00:00.5',
          '-7 mons 3 days -00:00:00.5', '1 year 1 mon 1 day 01:01:01', '2 years 2 mons 2 days 02:02:02.02',
          '-1 mon +1 day -1 sec', '1 day 1 sec', '0 sec']::interval[]),
       (14, '-2147483648 days -2562047788:00:54.775807', '{}');

-- 15: network addresses and time zones.
INSERT INTO types (id, c_inet, c_cidr, c_timetz, a_inet, a_cidr, a_timetz, a_macaddr, a_uuid)
VALUES (15, '2001:db8::1/64', '2001:db8::/32', '12:00:00+05:30',
    '{::1,::,2001:db8::1/64,::ffff:1.2.3.4,::1.2.3.4,fe80::1:0:0:1,1:0:0:1:0:0:0:1,1:2:3:4:5:6:7:8,::ffff:0:0,0:0:1::,1::,::2:0:0:3,192.168.0.0/24,10.1.2.3/8,::ffff:1.2.3.4/120,1:0:0:0:1:0:0:0/64,::0.0.0.1}',
    '{1.2.3.4/32,192.168.1.0/24,::/128,::ffff:1.2.3.0/120,2001:db8::/32,128.0.0.0/1,::/0}',
    '{00:00:00+15:59,23:59:59.999999-15:59,12:00:00+00,12:00:00-00:30,12:00:00+05:45,24:00:00+00,12:00:00+05:30:15,12:00:00-00:44:30}',
    '{ff:ff:ff:ff:ff:ff,01:23:45:67:89:ab}', '{00000000-0000-0000-0000-000000000001,FFFFFFFF-0000-0000-0000-000000000000}');

-- 16-: timestamps around zone history: local mean time (offsets with
-- seconds), daylight saving transitions, far past and future.
INSERT INTO types (id, c_timestamptz, c_timestamp, a_timestamptz) VALUES
    (16, '1850-06-01 12:00:00+00', '1850-06-01 12:00:00', '{"1800-01-01 00:00:00+00","1883-11-18 17:00:00+00","1900-01-01 00:00:00+00"}'),
    (17, '1920-06-01 12:00:00+00', '1920-06-01 12:00:00', '{"1919-03-01 00:00:00+00","1935-06-01 00:00:00+00","1972-05-01 00:00:00+00"}'),
    (18, '2021-11-07 05:30:00.5+00', '2021-11-07 05:30:00.5', '{"2021-03-14 06:59:59+00","2021-03-14 07:00:00+00","2021-11-07 05:59:59+00","2021-11-07 06:00:00+00"}'),
    (19, '1969-12-31 23:59:59.999999+00', '1969-12-31 23:59:59.999999', '{"1970-01-01 00:00:00+00","2038-01-19 03:14:08+00","2200-07-01 00:00:00+00"}'),
    (20, '10000-01-01 00:00:00+00', '10000-01-01 00:00:00', '{"2262-04-12 00:00:00+00","100000-06-15 12:00:00+00"}'),
    (21, '0001-01-01 00:00:00+00', '0001-01-01 00:00:00', '{"0001-01-01 00:00:00+00 BC","0001-12-31 23:59:59+00 BC"}');
