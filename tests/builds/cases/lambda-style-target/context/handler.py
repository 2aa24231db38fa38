import idna


def handle(event):
    return {"greeting": f"hello {event.get('name', 'world')}", "idna": idna.__version__}
