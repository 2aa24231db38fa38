import argparse
from importlib.metadata import version

import itsdangerous

parser = argparse.ArgumentParser()
parser.add_argument("--items", type=int, default=0)
args = parser.parse_args()
signer = itsdangerous.Signer("secret")
assert signer.unsign(signer.sign(b"cart")) == b"cart"
print(f"shop: {args.items} items (itsdangerous {version('itsdangerous')})")
