"""`gateway templates` prints each status text a retailer's customers would get."""

from gateway.cli import main


def test_templates_command_prints_each_text_with_its_cost(tmp_path, capsys):
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[retailers.fresh]\nname = "Fresh Mart"\napi_key = "k"\n'
        '[retailers.fresh.templates]\nstaged = "Your {retailer} order is ready 🛒"\n'
    )
    assert main(["templates", "--config", str(config), "--retailer", "fresh"]) == 0
    out = capsys.readouterr().out
    assert "Your Fresh Mart order is ready 🛒" in out
    assert "UCS-2" in out and "GSM-7" in out  # the emoji costs the override its GSM-7 encoding
    assert "picking" in out  # built-in templates are listed too


def test_templates_command_names_an_unknown_retailer(tmp_path, capsys):
    config = tmp_path / "gateway.toml"
    config.write_text('[retailers.fresh]\napi_key = "k"\n')
    assert main(["templates", "--config", str(config), "--retailer", "nope"]) == 1
    assert "nope" in capsys.readouterr().err


def test_templates_command_shows_a_proposal_text_and_its_worst_case(tmp_path, capsys):
    config = tmp_path / "gateway.toml"
    config.write_text('[retailers.fresh]\nname = "Fresh Mart"\napi_key = "k"\n')
    assert main(["templates", "--config", str(config)]) == 0
    out = capsys.readouterr().out.split("replacement proposals")[1]
    assert "| Alex: Organic 2% milk is out. Reply 1 for Organic whole milk, 2 for Store 2% milk" in out
    assert "or 0 for no replacement." in out
    # The longest name, item and options are shortened until the text fits two segments.
    assert "worst case" in out and out.rstrip().endswith("GSM-7, 2 SMS segments")
