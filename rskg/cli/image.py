"""``rskg image``: the image encoder's state and training of its concept head."""

from __future__ import annotations

import logging

import typer

from rskg.settings import load_settings

app = typer.Typer(help="Image encoder: show its version, train the concept head.", no_args_is_help=True)


@app.command("info")
def info() -> None:
    """Print the encoder version, feature dimension and whether a trained head is in use."""
    from embeddings.image import ImageEncoder

    enc = ImageEncoder(load_settings())
    typer.echo(f"version: {enc.version}\ndim: {enc.dim}\nhead: {'yes' if enc.head is not None else 'no'}")
    if enc.head is not None:
        m = enc.head.cfg.metrics or {}
        typer.echo(f"head: {len(enc.head.cfg.labels)} outputs, "
                   + ", ".join(f"{k}={m[k]}" for k in sorted(m)))


@app.command("train-head")
def train_head_cmd(
    epochs: int = typer.Option(20, help="training epochs"),
    seed: int = typer.Option(0, help="random seed"),
    families: str = typer.Option("ucm,eurosat,nwpu,rsscn7,gid", help="dataset families to train on "
                                 "(folders under RSKG_DATA_DIR; a missing folder is skipped)"),
    reencode: bool = typer.Option(False, "--reencode", help="then re-encode every ingested dataset with the "
                                  "new head and rebuild the image index (needs the servers)"),
    if_missing: bool = typer.Option(False, "--if-missing", help="keep an installed concept head trained on "
                                    "this backbone version (what `make demo` does); train only when there is none"),
    verbose: bool = typer.Option(False, "-v"),
) -> None:
    """Train the concept head on every labelled dataset at once (targets through the label system: a label
    switches on its concept and all ancestors; concepts a dataset cannot speak about are unknown, masked) and
    install it under RSKG_HOME/models. Backbone features are cached, so a retrain takes minutes.

    Every ImageEncoder built afterwards returns the head's 256-d embedding and a new version (the index
    records it); `--reencode` rebuilds the stored features and the index in the same command.
    """
    from embeddings.image import ImageEncoder
    from rskg.headtrain.product import install_head
    from rskg.headtrain.product import reencode as run_reencode
    from rskg.headtrain.train import ConceptTrainConfig
    from rskg.label_mapping import load_system

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s")
    settings = load_settings()
    if if_missing:
        from rskg.headtrain.product import installed_concept_head

        have = installed_concept_head(settings)
        if have is not None:
            typer.echo(f"concept head already installed ({have}); not retrained")
            return
    fams = tuple(f.strip() for f in families.split(",") if f.strip())
    res = install_head(settings, load_system(settings), fams, seed, ConceptTrainConfig(epochs=epochs))
    typer.echo(f"head saved to {res.path}: {res.n_concepts} concepts, {res.n_train} training images from "
               f"{', '.join(res.families)}; trained in {res.train_seconds:.0f} s ({res.total_seconds:.0f} s with "
               f"features), peak RSS {res.peak_rss_mb:.0f} MB")
    typer.echo(f"new encoder version: {ImageEncoder(settings).version}")
    if reencode:
        from rskg.services import Services

        with Services(settings) as svc:
            done = run_reencode(svc)
        typer.echo(f"re-encoded {sum(done.values())} samples of {len(done)} datasets; image index rebuilt")
    else:
        from rskg.ingest.features import image_index_path

        typer.echo("stored features and the image index still use the old version: rerun with --reencode"
                   if image_index_path(settings).exists() else
                   "no image index yet: the next ingest encodes with this head")
