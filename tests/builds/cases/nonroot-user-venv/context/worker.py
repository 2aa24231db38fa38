import os

import click


@click.command()
def main():
    click.echo(f"worker uid={os.getuid()} click {click.__version__}")


if __name__ == "__main__":
    main()
