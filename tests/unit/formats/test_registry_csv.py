"""The registry as people make it: Excel on Chinese Windows (GBK/GB18030, CRLF), BOMs, and
the contract's "empty otherwise" rules reported on the row and column that break them."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats.registry_csv import RegistryError, load_registry, load_registry_csv

HEADER = (
    "household_id,county,village,retrofit_type,heating_device,feeder_id,gas_station_id,"
    "priority_group,rated_kw\n"
)
ROWS = (
    "H1,忻府区,东营村,coal_to_electric,storage_heater,F1,,none,6\n"
    "H2,五台县,大头村,coal_to_gas,gas_boiler,,GS1,kindergarten,20\n"
    "H3,繁峙县,砂河镇,district_heating,district,,,elderly_home,1.5\n"
)


def _write(tmp_path: Path, text: str, encoding: str, newline: str = "\n") -> Path:
    path = tmp_path / "registry.csv"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "newline", "label"),
    [
        ("utf-8", "\n", "UTF-8"),
        ("utf-8-sig", "\r\n", "UTF-8 with BOM"),
        ("gbk", "\r\n", "GB18030"),
        ("gb18030", "\n", "GB18030"),
        ("utf-16", "\r\n", "UTF-16"),
    ],
)
def test_every_everyday_encoding_reads_the_same_households(
    tmp_path: Path, encoding: str, newline: str, label: str
) -> None:
    loaded = load_registry(_write(tmp_path, HEADER + ROWS, encoding, newline))
    assert loaded.encoding == label
    assert loaded.line_endings == ("CRLF" if newline == "\r\n" else "LF")
    assert [(h.household_id, h.county, h.village) for h in loaded.households] == [
        ("H1", "忻府区", "东营村"),
        ("H2", "五台县", "大头村"),
        ("H3", "繁峙县", "砂河镇"),
    ]


def test_bytes_in_no_known_encoding_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "registry.csv"
    path.write_bytes(HEADER.encode() + b"H1,\xff\xfe\xff,x\n")
    with pytest.raises(RegistryError, match="neither UTF-8 nor GB18030"):
        load_registry_csv(path)


def test_empty_otherwise_rules_name_the_row_and_column(tmp_path: Path) -> None:
    rows = (
        "H1,忻府区,东营村,coal_to_gas,gas_boiler,F1,GS1,none,20\n"
        "H2,忻府区,东营村,coal_to_electric,heat_pump,F1,GS1,none,6\n"
        "H3,忻府区,东营村,coal_to_electric,heat_pump,F1,,none,6\n"
    )
    with pytest.raises(RegistryError) as err:
        load_registry_csv(_write(tmp_path, HEADER + rows, "gbk", "\r\n"))
    text = str(err.value)
    assert "(read as GB18030)" in text
    assert "line 2, column 'feeder_id': feeder_id must be empty for coal_to_gas" in text
    assert "line 3, column 'gas_station_id': gas_station_id must be empty" in text
    assert "line 4" not in text
    households, errors = load_registry_csv(
        _write(tmp_path, HEADER + rows, "utf-8"), skip_bad_rows=True
    )
    assert [h.household_id for h in households] == ["H3"]
    assert [(e.row, e.column) for e in errors] == [(2, "feeder_id"), (3, "gas_station_id")]


def test_a_stations_design_columns_are_optional_and_read_as_typed(tmp_path: Path) -> None:
    # issue 20: a ledger may give a station's design (flow, temperatures, fuel in Chinese);
    # a ledger without the columns is read as before (defaults by kind and size apply)
    header = HEADER.rstrip("\n") + (
        ",heat_station_id,heat_station_kind,heat_station_design_flow_m3h,"
        "heat_station_design_supply_c,heat_station_design_return_c,heat_station_fuel\n"
    )
    rows = (
        "H1,忻府区,东营村,boiler_ultra_low_emission,district,,,none,1,HS-1,boiler_house,"
        "0.75,75,50,燃气\n"
        "H2,忻府区,东营村,district_heating,district,,,none,1,HS-2,chp_waste_heat,,50,40,\n"
        "H3,忻府区,东营村,district_heating,district,,,none,1,HS-2,chp_waste_heat,,40,45,\n"
    )
    households, errors = load_registry_csv(
        _write(tmp_path, header + rows, "gbk", "\r\n"), skip_bad_rows=True
    )
    h1, h2 = households
    assert (h1.heat_station_design_flow_m3h, h1.heat_station_fuel) == (0.75, "gas")
    assert (h2.heat_station_design_supply_c, h2.heat_station_design_return_c) == (50, 40)
    assert h2.heat_station_fuel is None
    assert [(e.row, e.column) for e in errors] == [(4, "-")]  # return above supply
