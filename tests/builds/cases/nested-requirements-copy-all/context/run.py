from importlib.metadata import version

import idna
import itsdangerous  # noqa: F401

print(f"prod deps: idna {idna.__version__}, itsdangerous {version('itsdangerous')}")
