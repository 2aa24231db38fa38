import idna
import packaging

print(f"inventory: idna {idna.__version__}, packaging {packaging.__version__}")
