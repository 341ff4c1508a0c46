"""The simulator's output lines: fixed-width JSONL rows for every meter, feeder and station,
special rows (last gasp / restoration, weather, malformed), and concentrator batches.

Field order and number widths are part of the output's byte identity (tests and recorded
datasets checksum it): change them only on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from contract.geography import COUNTY_NAMES
from producers.fastjson import LineTemplate, Num, Text, text_column
from producers.fleet import Fleet
from producers.loads import ElectricInterval, GasInterval

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]


def _electric_template(dt: int, kwh_w: int, term: bytes) -> LineTemplate:
    return LineTemplate(
        [
            '{"kind":"electric","household_id":"',
            Text("id", 8),
            '","ts":"',
            Text("ts", 25),
            f'","interval_s":{dt},"kwh":',
            Num("kwh", kwh_w, 3),
            ',"kw":',
            Num("kw", 6, 3),
            ',"voltage_v":',
            Num("v", 5, 1),
            ',"event":null}',
        ],
        term,
    )


def _gas_template(dt: int, m3_w: int, term: bytes) -> LineTemplate:
    return LineTemplate(
        [
            '{"kind":"gas","household_id":"',
            Text("id", 8),
            '","ts":"',
            Text("ts", 25),
            f'","interval_s":{dt},"m3":',
            Num("m3", m3_w, 3),
            ',"flow_m3h":',
            Num("flow", 5, 3),
            ',"pressure_kpa":',
            Num("p", 5, 3),
            "}",
        ],
        term,
    )


def _feeder_template(term: bytes) -> LineTemplate:
    return LineTemplate(
        [
            '{"kind":"feeder","feeder_id":"',
            Text("id", 9),
            '","ts":"',
            Text("ts", 25),
            '","kw":',
            Num("kw", 7, 1),
            ',"rated_kva":',
            Num("kva", 6, 1),
            "}",
        ],
        term,
    )


def _station_template(term: bytes) -> LineTemplate:
    return LineTemplate(
        [
            '{"kind":"gas_station","station_id":"',
            Text("id", 10),
            '","ts":"',
            Text("ts", 25),
            '","outlet_pressure_kpa":',
            Num("p", 5, 3),
            ',"flow_m3h":',
            Num("flow", 7, 2),
            "}",
        ],
        term,
    )


class ReadingRows:
    """One reusable row matrix per record type, ids filled once, values refilled per interval.

    In batch mode rows end in ``,`` (they are spliced into a batch's ``readings`` array),
    otherwise in a newline.
    """

    def __init__(self, fleet: Fleet, dt: int, batches: bool) -> None:
        self.dt_h = dt / 3600.0
        term = b"," if batches else b"\n"
        kwh_w = len(str(int(15 * self.dt_h))) + 4
        m3_w = len(str(int(2.5 * self.dt_h))) + 4
        self.e_tpl = _electric_template(dt, kwh_w, term)
        self.g_tpl = _gas_template(dt, m3_w, term)
        self.f_tpl = _feeder_template(term)
        self.s_tpl = _station_template(term)
        hid = fleet.household_ids
        self.electric = self.e_tpl.matrix(fleet.electric.size)
        ids = [hid[h] for h in fleet.electric.tolist()]
        self.e_tpl.set_text(self.electric, "id", text_column(ids, 8))
        self.gas = self.g_tpl.matrix(fleet.gas.size)
        self.g_tpl.set_text(self.gas, "id", text_column([hid[h] for h in fleet.gas.tolist()], 8))
        self.feeders = self.f_tpl.matrix(len(fleet.feeders))
        feeder_ids = [f.feeder_id for f in fleet.feeders]
        self.f_tpl.set_text(self.feeders, "id", text_column(feeder_ids, 9))
        self.f_tpl.set_num(self.feeders, "kva", np.array([f.rated_kva for f in fleet.feeders]))
        self.stations = self.s_tpl.matrix(len(fleet.stations))
        station_ids = [s.station_id for s in fleet.stations]
        self.s_tpl.set_text(self.stations, "id", text_column(station_ids, 10))

    def fill_electric(self, ts: bytes, e: ElectricInterval) -> None:
        self.e_tpl.set_text(self.electric, "ts", ts)
        self.e_tpl.set_num(self.electric, "kwh", e.kwh)
        self.e_tpl.set_num(self.electric, "kw", e.kw)
        self.e_tpl.set_num(self.electric, "v", e.volts)
        self.f_tpl.set_text(self.feeders, "ts", ts)
        self.f_tpl.set_num(self.feeders, "kw", e.feeder_kw)

    def fill_gas(self, ts: bytes, g: GasInterval) -> None:
        self.g_tpl.set_text(self.gas, "ts", ts)
        self.g_tpl.set_num(self.gas, "m3", g.flow * self.dt_h)
        self.g_tpl.set_num(self.gas, "flow", g.flow)
        self.g_tpl.set_num(self.gas, "p", g.pressure)
        self.s_tpl.set_text(self.stations, "ts", ts)
        self.s_tpl.set_num(self.stations, "p", g.outlet)
        self.s_tpl.set_num(self.stations, "flow", g.station_flow)


def electric_event_line(
    household: str, ts: str, dt: int, kwh: float, kw: float, volts: float, event: str
) -> bytes:
    """A meter's last gasp (``power_down``) or restoration (``power_up``) row, no terminator."""
    return orjson.dumps(
        {
            "kind": "electric",
            "household_id": household,
            "ts": ts,
            "interval_s": dt,
            "kwh": round(float(kwh), 3),
            "kw": round(kw, 3),
            "voltage_v": round(volts, 1),
            "event": event,
        }
    )


def weather_lines(ts: str, temps: F64) -> list[bytes]:
    """One weather line per county (in county order)."""
    return [
        orjson.dumps(
            {"kind": "weather", "county": name, "ts": ts, "temp_c": round(float(temps[c]), 1)}
        )
        + b"\n"
        for c, name in enumerate(COUNTY_NAMES)
    ]


def malformed_line(category: str, household: str, ts: str, k: int, dt: int) -> bytes:
    """An electric reading broken in one of the ``MALFORMED_CATEGORIES`` ways, no terminator."""
    base: dict[str, Any] = {
        "kind": "electric",
        "household_id": household,
        "ts": ts,
        "interval_s": dt,
        "kwh": 0.512,
        "kw": 2.048,
        "voltage_v": 228.4,
        "event": None,
    }
    if category == "invalid_json":
        return orjson.dumps(base)[:-17]
    if category == "unknown_kind":
        base["kind"] = "water"
    elif category == "wrong_type":
        base["kwh"] = "0.512"
    elif category == "negative_energy":
        base["kwh"] = -0.512
    elif category == "bad_timestamp":
        base["ts"] = ts[:19].replace("T", " ")
    elif category == "unknown_household":
        base["household_id"] = f"H9{k % 1_000_000:06d}"
    return orjson.dumps(base)


# One concentrator record: (line, readings in it, eligible to be delayed or duplicated).
# A plain tuple: a city-day builds 270,000 of them and an object costs ~2% of the run.
Batch = tuple[bytes, int, bool]


def _batch_line(source: bytes, body: bytes) -> bytes:
    return b'{"kind":"batch","source":"' + source + b'","readings":[' + body + b"]}\n"


def _row(blob: bytes, i: int, length: int) -> bytes:
    """Row ``i`` of a rendered matrix without its trailing ``,``."""
    return blob[i * length : (i + 1) * length - 1]


def feeder_batches(
    fleet: Fleet,
    rows: ReadingRows,
    special: dict[int, bytes],
    silent: list[int],
    feeder_silent: list[int],
    faulty_feeder: npt.NDArray[np.bool_],
) -> list[Batch]:
    """One batch per feeder concentrator: its meters' rows, then the feeder's own row.

    Feeders touched by an event or a silent meter are assembled row by row; the rest are one
    slice of the rendered matrix. Only untouched, fault-free feeders may be delayed/duplicated.
    """
    silent_set = set(silent)
    eblob = rows.electric.tobytes()
    fblob = rows.feeders.tobytes()
    len_e, len_f = rows.e_tpl.length, rows.f_tpl.length
    touched_f = {int(fleet.feeder_of[m]) for m in set(special) | silent_set}
    fsil = set(feeder_silent)
    batches: list[Batch] = []
    for fi, fd in enumerate(fleet.feeders):
        a, b = fd.first, fd.last
        if fi in touched_f:
            kept = [
                special[m] if m in special else _row(eblob, m, len_e)
                for m in range(a, b)
                if m in special or m not in silent_set
            ]
            body = b",".join(kept)
            nr = len(kept)
        else:
            body = eblob[a * len_e : b * len_e - 1]
            nr = b - a
        if fi not in fsil:
            frow = _row(fblob, fi, len_f)
            body = body + b"," + frow if nr else frow
            nr += 1
        if nr:
            line = _batch_line(b"DC-" + fd.feeder_id.encode(), body)
            batches.append((line, nr, not faulty_feeder[fi] and fi not in touched_f))
    return batches


def station_batches(
    fleet: Fleet, rows: ReadingRows, faulty_station: npt.NDArray[np.bool_]
) -> list[Batch]:
    """One batch per gas station concentrator: its meters' rows, then the station's own row."""
    gblob = rows.gas.tobytes()
    sblob = rows.stations.tobytes()
    len_g, len_s = rows.g_tpl.length, rows.s_tpl.length
    batches: list[Batch] = []
    for si, sd in enumerate(fleet.stations):
        a, b = sd.first, sd.last
        body = gblob[a * len_g : b * len_g - 1] + b"," + _row(sblob, si, len_s)
        line = _batch_line(b"DC-" + sd.station_id.encode(), body)
        batches.append((line, b - a + 1, not faulty_station[si]))
    return batches
