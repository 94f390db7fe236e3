def main() -> None:
    raise SystemExit("savbench CLI not built yet")
