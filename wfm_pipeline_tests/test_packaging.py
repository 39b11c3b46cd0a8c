"""The wheel carries everything the package needs at run time (CI also builds and installs one).

pyproject.toml lists the packages (sql/ is mapped onto ``wfm_pipeline._sql``, which a package
finder cannot express), so a new package folder must be added there: these tests say so.
"""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

import yaml

from wfm_pipeline.defs.instance import WORKSPACE_YAML, write_workspace_yaml
from wfm_pipeline.settings import load_settings

CHECKOUT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed_and_sql_is_mapped() -> None:
    folders = {".".join(p.parent.relative_to(CHECKOUT).parts) for p in (CHECKOUT / "wfm_pipeline").rglob("__init__.py")}
    assert set(SETUPTOOLS["packages"]) == folders | {"wfm_pipeline._sql"}
    assert SETUPTOOLS["package-dir"] == {"wfm_pipeline._sql": "sql"}


def _shipped(package_dir: Path, globs: list[str]) -> set[str]:
    return {p.relative_to(package_dir).as_posix() for g in globs for p in package_dir.glob(g)}


def test_package_data_globs_ship_every_non_python_file() -> None:
    data = SETUPTOOLS["package-data"]
    sql_files = {p.relative_to(CHECKOUT / "sql").as_posix() for p in (CHECKOUT / "sql").rglob("*") if p.is_file()
                 and p.suffix != ".pyc" and "__pycache__" not in p.parts}
    assert sql_files and _shipped(CHECKOUT / "sql", data["wfm_pipeline._sql"]) == sql_files
    in_package = {p for p in (CHECKOUT / "wfm_pipeline").rglob("*") if p.is_file()
                  and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    shipped = set()
    for package, globs in data.items():
        if package != "wfm_pipeline._sql":
            root = CHECKOUT.joinpath(*package.split("."))
            shipped |= {root / PurePosixPath(rel) for rel in _shipped(root, globs)}
    assert in_package == shipped


def test_wfm_dev_writes_the_checkout_workspace_into_dagster_home(tmp_path: Path) -> None:
    settings = load_settings({"WFM_HOME": str(tmp_path), "WFM_DATABASE_URL": "postgresql://unused/x"})
    path = write_workspace_yaml(settings)
    assert path == tmp_path / "dagster" / "workspace.yaml"
    assert yaml.safe_load(path.read_text()) == yaml.safe_load((CHECKOUT / "workspace.yaml").read_text())
    assert path.read_text() == WORKSPACE_YAML
