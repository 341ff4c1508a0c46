"""Daily household rollups as Parquet: the one Arrow schema the runner writes and the
season report reads (the columns are exactly the ``HouseholdDay`` fields)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from contract.rollups import HouseholdDay

ROLLUP_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("day", pa.date32()),
        ("county", pa.string()),
        ("village", pa.string()),
        ("retrofit_type", pa.string()),
        ("heating_device", pa.string()),
        ("priority_group", pa.string()),
        ("readings", pa.int32()),
        ("heating_available_minutes", pa.float32()),
        ("outage_minutes", pa.float32()),
        ("shortfall_minutes", pa.float32()),
        ("no_data_minutes", pa.float32()),
        ("interruptions", pa.int32()),
        ("energy_kwh", pa.float32()),
        ("valley_kwh", pa.float32()),
        ("valley_share", pa.float32()),
        ("gas_m3", pa.float32()),
        ("county_min_temp_c", pa.float32()),
        ("county_mean_temp_c", pa.float32()),
        ("evidence", pa.string()),
        ("heat_kwh", pa.float32()),  # issue 24: absent in files written before it
        ("heater_kwh", pa.float32()),  # issue 24: a storage heater's part of the meter
    ]
)


def rollups_to_table(days: list[HouseholdDay]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in ROLLUP_SCHEMA.names}
    for d in days:
        for name, values in columns.items():
            values.append(getattr(d, name))
    for enum_col in ("retrofit_type", "heating_device", "priority_group"):
        columns[enum_col] = [v.value for v in columns[enum_col]]
    return pa.table(columns, schema=ROLLUP_SCHEMA)


assert ROLLUP_SCHEMA.names == list(HouseholdDay.model_fields), "schema and model drifted"
