"""``heatwatch grafana``: generate the provisioning files or apply them through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from dashboards import generate as gen
from heatwatch.cli.common import (
    EXIT_PROBLEMS,
    EXIT_UNREACHABLE,
    CliError,
    HeatwatchCommand,
    HeatwatchGroup,
    console,
    print_warning,
    t,
)

app = typer.Typer(
    cls=HeatwatchGroup,
    help="看板、告警规则与通知配置即代码。 Grafana dashboards, alert rules and notifications as code.",
    no_args_is_help=True,
)

ACTIONS = {
    "create": ("新建", "create"),
    "update": ("更新", "update"),
    "unchanged": ("不变", "unchanged"),
}


@app.command("generate", cls=HeatwatchCommand)
def generate_cmd(
    out_dir: Annotated[
        Path, typer.Option(help="看板 JSON 目录。 Dashboard JSON directory.")
    ] = gen.DASHBOARD_DIR,
    alerting_dir: Annotated[
        Path, typer.Option(help="告警配置目录。 Alerting provisioning directory.")
    ] = gen.ALERTING_DIR,
    check: Annotated[
        bool, typer.Option(help="只检查文件是否最新。 Only check the files are up to date.")
    ] = False,
) -> None:
    """写出看板 JSON 与告警配置 YAML。 Write deploy/grafana/dashboards/*.json and
    provisioning/alerting/*.yaml."""
    if check:
        stale = gen.check(out_dir, alerting_dir)
        for s in stale:
            console.print(t(f"已过期：{s}", f"stale: {s}"), highlight=False)
        if stale:
            raise CliError(
                "生成的文件已过期，请运行 heatwatch grafana generate 并提交。",
                "the generated files are stale: run heatwatch grafana generate and commit.",
                EXIT_PROBLEMS,
            )
        return
    for path in gen.generate(out_dir, alerting_dir):
        typer.echo(str(path))


def grafana_base_url(url: str) -> str:
    """``localhost:3000`` → ``http://localhost:3000``; anything else without a host fails."""
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw
    raw = raw.rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(
            f"Grafana 地址无效：{url!r}。请写成 http://主机:端口，例如 http://localhost:3000。",
            f"invalid Grafana URL {url!r}: use http://host:port, e.g. http://localhost:3000.",
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise CliError(
            f"Grafana 地址的端口无效：{url!r}。", f"invalid port in the Grafana URL {url!r}."
        ) from exc
    return raw


@contextmanager
def grafana_errors(url: str) -> Iterator[None]:
    """Connection, timeout and authorisation failures as one sentence naming the URL."""
    import niquests  # grafana-client's HTTP library
    from grafana_client.client import GrafanaClientError, GrafanaUnauthorizedError

    try:
        yield
    except (niquests.exceptions.ConnectionError, niquests.exceptions.Timeout) as exc:
        raise CliError(
            f"连不上 Grafana（{url}）。请确认 Grafana 已启动、地址正确（--url），"
            "或用 --timeout 加长等待时间。",
            f"cannot reach Grafana at {url}. Check Grafana is running and --url is right, "
            "or raise --timeout.",
            EXIT_UNREACHABLE,
        ) from exc
    except GrafanaUnauthorizedError as exc:
        raise CliError(
            f"Grafana（{url}）拒绝了令牌（401）。请用 --token 或 HEATWATCH_GRAFANA_TOKEN "
            "提供有 Admin 权限的服务账号令牌。",
            f"Grafana at {url} refused the token (401). Pass an Admin service-account token "
            "with --token or HEATWATCH_GRAFANA_TOKEN.",
        ) from exc
    except GrafanaClientError as exc:
        status = getattr(exc, "status_code", "?")
        raise CliError(
            f"Grafana（{url}）返回错误 {status}：{exc}。请检查令牌权限与 Grafana 版本（需要 11.x）。",
            f"Grafana at {url} answered {status}: {exc}. Check the token's role and the "
            "Grafana version (11.x needed).",
            EXIT_PROBLEMS,
        ) from exc


@app.command("apply", cls=HeatwatchCommand)
def apply_cmd(
    url: Annotated[
        str,
        typer.Option(
            help="Grafana 地址，例如 http://localhost:3000。 Grafana base URL.",
            envvar="HEATWATCH_GRAFANA_URL",
        ),
    ],
    token: Annotated[
        str,
        typer.Option(
            help="服务账号令牌。 Service-account token.", envvar="HEATWATCH_GRAFANA_TOKEN"
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="只显示计划，不修改。 Print the plan; only read."),
    ] = False,
    influx_url: Annotated[
        str | None,
        typer.Option(
            help="同时配置该地址的 InfluxDB 数据源。 Also provision the InfluxDB datasource."
        ),
    ] = None,
    influx_token: Annotated[
        str, typer.Option(envvar="HEATWATCH_INFLUX_TOKEN", help="InfluxDB 令牌。 InfluxDB token.")
    ] = "",
    influx_org: Annotated[
        str, typer.Option(envvar="HEATWATCH_INFLUX_ORG", help="InfluxDB 组织。 InfluxDB org.")
    ] = "heatwatch",
    bucket: Annotated[str, typer.Option(help="InfluxDB 存储桶。 InfluxDB bucket.")] = "heatwatch",
    timeout: Annotated[float, typer.Option(help="HTTP 超时（秒）。 HTTP timeout, seconds.")] = 10.0,
) -> None:
    """创建/更新数据源、文件夹、看板和告警对象（可重复执行）。 Create/update the datasource,
    folder, dashboards and alerting objects (idempotent)."""
    from grafana_client.api import GrafanaApi

    from dashboards.apply import Provisioner, influx_datasource

    base = grafana_base_url(url)
    if base != url.strip().rstrip("/"):
        print_warning(f"地址没有写协议，按 {base} 连接。", f"no scheme in the URL: using {base}.")
    api = GrafanaApi.from_url(base, credential=token, timeout=timeout)
    datasource = (
        influx_datasource(influx_url, influx_token, influx_org, bucket) if influx_url else None
    )
    prov = Provisioner(api, dry_run=dry_run, datasource=datasource)
    with grafana_errors(base):
        steps = prov.run()
    for step in steps:
        zh, en = ACTIONS.get(step.action, (step.action, step.action))
        typer.echo(f"{t(zh, en):9} {step.kind:18} {step.name}")
    if prov.missing_env:
        print_warning(
            "联系点缺少环境变量（密钥）：" + "、".join(sorted(prov.missing_env)),
            "missing environment for contact-point secrets: " + ", ".join(sorted(prov.missing_env)),
        )
    changed = sum(1 for s in steps if s.action != "unchanged")
    if dry_run:
        typer.echo(
            t(
                f"将修改 {changed} / {len(steps)} 个对象",
                f"would change {changed} of {len(steps)} objects",
            )
        )
    else:
        typer.echo(
            t(
                f"已修改 {changed} / {len(steps)} 个对象",
                f"changed {changed} of {len(steps)} objects",
            )
        )
