"""``rskg cluster up|down|status``: a real multi-node Ray cluster on this machine for ``--engine ray``."""

from __future__ import annotations

from typing import Annotated

import typer

from rskg.servers.ray_local import RayLocalCluster
from rskg.settings import load_settings

app = typer.Typer(help="Start, stop and inspect a local multi-node Ray cluster (ray start --head / --address).",
                  no_args_is_help=True)


@app.command()
def up(nodes: Annotated[int, typer.Option(help="nodes in all, the head included")] = 2,
       cpus: Annotated[int, typer.Option(help="CPUs each node offers to Ray")] = 1) -> None:
    """Start the head node and NODES-1 worker nodes; print the address for `rskg ingest --address`."""
    cl = RayLocalCluster(load_settings())
    typer.echo(cl.up(nodes=nodes, cpus_per_node=cpus).line())
    typer.echo(f"ingest on it: rskg ingest URL --dataset READER --engine ray --address {cl.address}")


@app.command()
def down() -> None:
    """Stop every node of the local cluster."""
    RayLocalCluster(load_settings()).down()
    typer.echo("ray       stopped")


@app.command()
def status() -> None:
    """Show whether the local cluster runs; exit 1 if it does not."""
    st = RayLocalCluster(load_settings()).status()
    typer.echo(st.line())
    raise typer.Exit(0 if st.healthy else 1)
