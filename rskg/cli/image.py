"""``rskg image``: the image encoder's state and training of its multi-label head."""

from __future__ import annotations

import typer

from rskg.settings import load_settings

app = typer.Typer(help="Image encoder: show its version, train the fine-tuned head.", no_args_is_help=True)


@app.command("info")
def info() -> None:
    """Print the encoder version, feature dimension and whether a trained head is in use."""
    from embeddings.image import ImageEncoder

    enc = ImageEncoder(load_settings())
    typer.echo(f"version: {enc.version}\ndim: {enc.dim}\nhead: {'yes' if enc.head is not None else 'no'}")


@app.command("train-head")
def train_head_cmd(
    epochs: int = typer.Option(40, help="training epochs"),
    seed: int = typer.Option(0, help="random seed"),
    augment: bool = typer.Option(True, help="scale/rotation/mosaic views (encoded once, cached)"),
) -> None:
    """Train the head on the UCMerced train split (1,470 images) and install it under RSKG_HOME/models.

    Every ImageEncoder built afterwards (with RSKG_ENCODER_USE_HEAD on) returns the head's 256-d embedding
    and a new version, so stored features and the image index must be rebuilt (re-run `rskg ingest`).
    """
    from embeddings.backbone import fuse
    from embeddings.head import TrainConfig, train_head
    from embeddings.image import ImageEncoder
    from rskg.evaluation import metrics as M
    from rskg.image_training import load_corpus, train_views

    settings = load_settings()
    enc = ImageEncoder(settings, use_head=False)
    c = load_corpus(settings, enc)
    x = fuse(c.raw, enc.stage_dims, enc.fusion)
    tr = c.is_train
    views = train_views(settings, enc, c, seed) if augment else None
    res = train_head(x[tr], c.y[tr], None, settings, seed, labels=c.label_names, views=views,
                     config=TrainConfig(epochs=epochs), feature_version=enc.feature_version)
    ml = M.multilabel_scores(c.y[~tr][:, c.n_scene:], res.head.predict_proba(x[~tr])[:, c.n_scene:])
    typer.echo(f"head saved to {res.path} ({res.seconds:.0f} s, loss {res.epoch_loss[0]:.3f} -> "
               f"{res.epoch_loss[-1]:.3f})")
    typer.echo(f"UCMerced test split multi-labels: mAP {ml['map']:.3f}, macro F1 {ml['macro_f1']:.3f}, "
               f"micro F1 {ml['micro_f1']:.3f}")
    typer.echo(f"new encoder version: {ImageEncoder(settings).version} (re-ingest to rebuild features)")
