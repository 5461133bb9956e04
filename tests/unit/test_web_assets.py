"""The web app's files: one digest over all of them, nothing served outside the folder. No I/O beyond tmp."""

from tsa.web import WebAssets, media_type


def _app(root, script: str) -> WebAssets:
    (root / "js").mkdir(exist_ok=True)
    (root / "index.html").write_text('<script src="{{assets}}/js/app.js"></script>')
    (root / "js" / "app.js").write_text(script)
    (root / "__init__.py").write_text("")
    return WebAssets(root)


def test_the_page_names_assets_under_a_digest_of_their_content(tmp_path):
    first = _app(tmp_path, "console.log(1)")
    assert first.index_html == f'<script src="/assets/{first.digest}/js/app.js"></script>'.encode()
    changed = _app(tmp_path, "console.log(2)")
    assert changed.digest != first.digest


def test_only_the_apps_own_files_are_found(tmp_path):
    assets = _app(tmp_path, "x")
    assert assets.find("js/app.js") == tmp_path / "js" / "app.js"
    for name in ("index.html", "__init__.py", "../secret", "js/../../etc/passwd", "missing.js"):
        assert assets.find(name) is None


def test_media_types_a_browser_accepts_for_modules_and_wasm(tmp_path):
    assert media_type(tmp_path / "pdf.min.mjs") == "text/javascript"
    assert media_type(tmp_path / "openjpeg.wasm") == "application/wasm"
    assert media_type(tmp_path / "app.css") == "text/css"
