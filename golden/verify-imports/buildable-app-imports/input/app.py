import click


@click.command()
def main() -> None:
    click.echo("ok")


if __name__ == "__main__":
    main()
