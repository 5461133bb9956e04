from tsa.cli import app

app(prog_name="tsa")
