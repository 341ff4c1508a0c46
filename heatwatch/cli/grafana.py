"""``heatwatch grafana``: generate the provisioning files or apply them through the HTTP API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from grafana_client.api import GrafanaApi

from dashboards import generate as gen
from dashboards.apply import Provisioner, influx_datasource

app = typer.Typer(
    help="Grafana dashboards, alert rules and notifications as code.", no_args_is_help=True
)


@app.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option(help="Dashboard JSON directory.")] = gen.DASHBOARD_DIR,
    alerting_dir: Annotated[
        Path, typer.Option(help="Alerting provisioning directory.")
    ] = gen.ALERTING_DIR,
    check: Annotated[bool, typer.Option(help="Only check the files are up to date.")] = False,
) -> None:
    """Write deploy/grafana/dashboards/*.json and provisioning/alerting/*.yaml."""
    if check:
        stale = gen.check(out_dir, alerting_dir)
        for s in stale:
            typer.echo(f"stale: {s}", err=True)
        raise typer.Exit(1 if stale else 0)
    for path in gen.generate(out_dir, alerting_dir):
        typer.echo(str(path))


@app.command("apply")
def apply_cmd(
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://localhost:3000")],
    token: Annotated[
        str, typer.Option(help="Service-account token.", envvar="HEATWATCH_GRAFANA_TOKEN")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; only read from Grafana.")
    ] = False,
    influx_url: Annotated[
        str | None, typer.Option(help="Also provision the InfluxDB datasource at this URL.")
    ] = None,
    influx_token: Annotated[
        str, typer.Option(envvar="HEATWATCH_INFLUX_TOKEN", help="InfluxDB token.")
    ] = "",
    influx_org: Annotated[str, typer.Option(envvar="HEATWATCH_INFLUX_ORG")] = "heatwatch",
    bucket: Annotated[str, typer.Option(help="InfluxDB bucket.")] = "heatwatch",
    timeout: Annotated[float, typer.Option(help="HTTP timeout, seconds.")] = 10.0,
) -> None:
    """Create/update the datasource, folder, dashboards, alerting objects (idempotent)."""
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    datasource = (
        influx_datasource(influx_url, influx_token, influx_org, bucket) if influx_url else None
    )
    prov = Provisioner(api, dry_run=dry_run, datasource=datasource)
    steps = prov.run()
    for step in steps:
        typer.echo(str(step))
    if prov.missing_env:
        typer.echo(
            "missing environment for contact-point secrets: " + ", ".join(sorted(prov.missing_env)),
            err=True,
        )
    changed = sum(1 for s in steps if s.action != "unchanged")
    verb = "would change" if dry_run else "changed"
    typer.echo(f"{verb} {changed} of {len(steps)} objects")
