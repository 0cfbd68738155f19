"""The README's "From Python" example runs as written (from the repository root, as the README assumes)."""
import re

from conftest import REPO, run_isolated


def test_readme_python_example_runs():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## From Python"):]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    result = run_isolated(f"import os; os.chdir({str(REPO)!r})\n" + example)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(None, 96, 96, 3)")
    assert all(re.fullmatch(r"class \d+ 0\.\d{4}", line) for line in lines[1:4]), lines
    assert lines[4].startswith("(4, 1000) ")
    agreement = float(lines[4].split()[-1])
    assert 0.0 <= agreement <= 1.0
