from dialogs.format.diagram import mermaid


def test_mermaid_shows_steps_scores_and_outcomes(shipped):
    text = mermaid(shipped["kitchen-quiz"], "en")
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert any('-->|"With an island +20"|' in line for line in lines)
    assert any("out_of_area → close" in line for line in lines)
    assert any("📊 Qualification" in line and "hot: score #gt;= 70" in line for line in lines)
    # every step is a node, every arrow joins two of them
    nodes = {line.split("[")[0].split("{")[0].split("(")[0].strip() for line in lines
             if line.startswith("  s") and "-->" not in line and ":::" not in line}
    assert len(nodes) == len(shipped["kitchen-quiz"].steps)
    for line in lines:
        if "-->" in line:
            source, target = line.split()[0], line.split()[-1]
            assert source in nodes and target in nodes


def test_mermaid_escapes_quotes_and_braces(shipped):
    text = mermaid(shipped["kitchen-quiz"], "en")
    assert "{discount}" not in text and "#123;discount#125;" in text
    rules = text.split('q["', 1)[1].split('"]:::rules', 1)[0]
    assert "answers.location != 'far'" in rules and '"' not in rules
