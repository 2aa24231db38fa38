"""Counts notes."""

import click


@click.command()
@click.option("--count", type=int, default=0)
def main(count):
    click.echo(f"notes: {count} (click {click.__version__})")
