from hubsim.cli import run

run()
