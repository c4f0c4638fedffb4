from creditrisk.cli import app

app(prog_name="creditrisk")
