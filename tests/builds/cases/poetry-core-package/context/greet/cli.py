import click


@click.command()
@click.argument("name")
def main(name):
    click.echo(f"greet: hello, {name} (click {click.__version__})")
