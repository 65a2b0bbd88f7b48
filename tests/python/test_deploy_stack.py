"""The deploy stack for real, on loopback: lion-serve started exactly as the
container starts it (the Dockerfile's ENTRYPOINT and ENV, with container paths
and addresses mapped to this machine), its HEALTHCHECK command, and Debian's
Prometheus with the repository's scrape config and alert rules, against which
every PromQL expression of every panel of deploy/grafana/lion-serve.json runs
after a little load: each must parse and return at least one series."""

import json
import math
import os
import pathlib
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import grpc
import pytest

from conftest import require_built
from deploy_helpers import DEPLOY, image_config, load_yaml_all, run, tool
from lion_server_harness import (BUILD_DIR, DIGITS, LION_SERVE, MLM, MODELS, digits_pixels,
                                 require_server_and_models, stubs, wait_until)

LION_CLIENT = BUILD_DIR / "client" / "lion-client"
RATE_INTERVAL = "1m"   # Grafana's $__rate_interval; Prometheus scrapes every second here


class ContainerServer:
    """lion-serve with the image's command line and environment."""

    def __init__(self, argv, env):
        self.lines = []
        self._ready = threading.Event()
        self._serving = None
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(300) or self._serving is None:
            self.proc.kill()
            raise AssertionError("lion-serve did not log serving:\n" + "\n".join(self.lines))
        fields = (json.loads(self._serving) if self._serving.startswith("{") else
                  dict(kv.split("=", 1) for kv in self._serving.split() if "=" in kv))
        self.grpc_port, self.metrics_port = int(fields["grpc_port"]), int(fields["metrics_port"])

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if " serving " in line or '"msg":"serving"' in line:
                self._serving = line
                self._ready.set()
        self._ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def container_invocation(tmp_path):
    """(argv, env) of the image, container paths and addresses mapped to loopback."""
    config = image_config()
    local = {"/usr/local/bin/lion-serve": str(LION_SERVE), "/usr/local/bin/lion-client": str(LION_CLIENT)}
    mapped = {"LION_MODEL_REPOSITORY": ("/models", str(MODELS)),
              "LION_CALIBRATION_DIR": ("/var/cache/lion", str(tmp_path / "calibration")),
              "LION_GRPC_ADDRESS": ("0.0.0.0:50051", "127.0.0.1:0"),
              "LION_METRICS_ADDRESS": ("0.0.0.0:9464", "127.0.0.1:0"),
              "LION_HTTP_ADDRESS": ("0.0.0.0:8080", "127.0.0.1:0")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LION_") or k == "LION_BUILD_DIR"}
    for key, value in config["env"].items():
        if key in mapped:
            container_value, here = mapped[key]
            assert value == container_value, f"{key}={value}: the test maps {container_value}"
            value = here
        else:
            assert not value.startswith("/"), f"{key}={value}: a container path this test does not map"
        env[key] = value
    argv = [local.get(a, a) for a in config["entrypoint"] + config["cmd"]]
    healthcheck = [a.replace("/usr/local/bin/lion-client", str(LION_CLIENT)) for a in config["healthcheck"]]
    return argv, env, healthcheck


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    require_built(LION_CLIENT, "lion-client")
    tmp = tmp_path_factory.mktemp("deploy_stack")
    argv, env, healthcheck = container_invocation(tmp)
    server = ContainerServer(argv, env)
    prometheus = None
    try:
        prometheus = Prometheus(tmp, server.metrics_port)
        yield {"server": server, "prometheus": prometheus, "env": env, "healthcheck": healthcheck,
               "tmp": tmp}
    finally:
        if prometheus:
            prometheus.stop()
        assert server.stop() == 0, "\n".join(server.lines[-20:])


# ---- Prometheus ----------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """Debian's prometheus with deploy/prometheus/prometheus.yml, its lion-serve
    job pointed at the test server, scraping every second."""

    def __init__(self, tmp, metrics_port):
        binary = tool("prometheus")
        (config,) = load_yaml_all(DEPLOY / "prometheus" / "prometheus.yml")
        (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "lion-serve"]
        for sd in [k for k in job if k.endswith("_sd_configs") or k == "static_configs"]:
            del job[sd]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config["rule_files"] = [str(DEPLOY / "prometheus" / f) for f in config["rule_files"]]
        path = tmp / "prometheus.yml"
        path.write_text(json.dumps(config))   # JSON is YAML
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp / "prometheus.log", "w")
        self.proc = subprocess.Popen([binary, f"--config.file={path}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                                      f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_until(self._ready, timeout=60):
            self.stop()
            raise AssertionError("prometheus did not become ready: " + (tmp / "prometheus.log").read_text())

    def _ready(self):
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:   # 400/422: the expression does not parse
            return json.loads(e.read())

    def query(self, expr):
        return self.api("query", query=expr)

    def value(self, expr):
        result = self.query(expr)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def drive_load(server, tmp):
    """A little of every kind of traffic, bad input included."""
    pb, pb_grpc = stubs(tmp)
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        inference = pb_grpc.InferenceStub(channel)
        pixels, _ = digits_pixels(8)
        for x in pixels:
            image = pb.Image(pixels=pb.Tensor(shape=[1, 8, 8], data=x.ravel().tolist()))
            inference.Classify(pb.ClassifyRequest(model=DIGITS, image=image, top_k=3))
        for text in ("the cat sat on the mat", "a long walk " * 40, "fortune favours the bold"):
            inference.Embed(pb.EmbedRequest(model=MLM, text=text))
            inference.FillMask(pb.FillMaskRequest(model=MLM, text=f"{text} [MASK] ."))
            inference.Tokenize(pb.TokenizeRequest(model=MLM, text=text))
        bad_request(pb, inference)
    return 8 + 3 * 3 + 1


def bad_request(pb, inference):
    with pytest.raises(grpc.RpcError) as e:
        inference.Embed(pb.EmbedRequest(model=MLM))   # no input
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def scraped(stack):
    """Prometheus has scraped the idle server, then the load, then twice more."""
    prom, server = stack["prometheus"], stack["server"]
    assert wait_until(lambda: prom.value('up{job="lion-serve"}') == 1, timeout=60), \
        prom.query('up')
    sent = drive_load(server, stack["tmp"])
    assert wait_until(lambda: (prom.value('sum(lion_requests_total{job="lion-serve"})') or 0) >= sent,
                      timeout=60)
    # The error's series begins at its first error, and rate() counts no
    # increase into a series' first sample: a second error, scraped, shows.
    pb, pb_grpc = stubs(stack["tmp"])
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        bad_request(pb, pb_grpc.InferenceStub(channel))
    assert wait_until(lambda: (prom.value('sum(lion_requests_total{job="lion-serve"})') or 0) >= sent + 1,
                      timeout=60)
    scrapes = prom.value('count_over_time(up{job="lion-serve"}[1h])')
    assert wait_until(lambda: prom.value('count_over_time(up{job="lion-serve"}[1h])') >= scrapes + 2,
                      timeout=60)
    return prom


# ---- tests ---------------------------------------------------------------------

def test_container_command_serves_and_its_healthcheck_passes(stack):
    server, healthcheck = stack["server"], stack["healthcheck"]
    env = {**stack["env"], "LION_GRPC_ADDRESS": f"127.0.0.1:{server.grpc_port}"}
    out = subprocess.run(healthcheck, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SERVING" in out.stdout
    # The calibration went where the container's writable cache is: the
    # cache file each model's start-up line names, and nothing else.
    caches = {}
    for line in server.lines:
        fields = (json.loads(line) if line.startswith("{") else
                  dict(kv.split("=", 1) for kv in line.split() if "=" in kv))
        if "cache" in fields and "model" in fields:
            caches[fields["model"]] = pathlib.Path(fields["cache"])
    assert sorted(caches) == [DIGITS, MLM], "\n".join(server.lines)
    cache_dir = stack["tmp"] / "calibration"
    assert all(c.parent == cache_dir for c in caches.values()), caches
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted({c.name for c in caches.values()})
    # The same check on a port nobody serves fails, so the healthcheck can fail.
    env["LION_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    assert subprocess.run(healthcheck, env=env, capture_output=True, timeout=60).returncode != 0


def dashboard_queries():
    dashboard = json.loads((DEPLOY / "grafana" / "lion-serve.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def substitute(expr, model):
    out = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$model", model)
    assert "$" not in out, f"a dashboard variable the test does not know: {expr}"
    return out


def series_values(result):
    return [float(s["value"][1]) for s in result]


def test_model_variable_lists_the_models(scraped):
    dashboard = json.loads((DEPLOY / "grafana" / "lion-serve.json").read_text())
    (var,) = [v for v in dashboard["templating"]["list"] if v["name"] == "model"]
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", var["definition"]).groups()
    series = scraped.api("series", **{"match[]": metric})["data"]
    assert sorted({s[label] for s in series}) == [DIGITS, MLM]


@pytest.mark.parametrize("model", [".*", DIGITS, MLM], ids=["all", DIGITS, MLM])
def test_every_panel_query_returns_data(scraped, model):
    empty, failed, values = [], [], {}
    for title, expr in dashboard_queries():
        answer = scraped.query(substitute(expr, model))
        if answer.get("status") != "success":
            failed.append(f"{title}: {expr}: {answer.get('error')}")
        elif not answer["data"]["result"]:
            empty.append(f"{title}: {expr}")
        else:
            values.setdefault(title, []).extend(series_values(answer["data"]["result"]))
    assert not failed, "queries Prometheus rejects:\n" + "\n".join(failed)
    assert not empty, "panels whose query returns nothing:\n" + "\n".join(empty)
    # The load shows: traffic, latency, batches and forms have real (finite, > 0) values.
    for title in ("Request rate by method and code", "Request latency p50 / p95 / p99",
                  "Batch size", "Form mix", "Device memory"):
        assert any(math.isfinite(v) and v > 0 for v in values[title]), (title, values[title])
    if model in (".*", MLM):   # the one bad request: a client error, not a server-side one
        assert any(v > 0 for v in values["Error ratio"]), values["Error ratio"]


def test_alert_rules_load_and_stay_quiet_on_a_healthy_server(scraped):
    groups = scraped.api("rules")["data"]["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert set(rules) == {"LionServeTargetDown", "LionServeHighErrorRatio", "LionServeHighLatencyP99",
                          "LionServeQueueSaturated"}
    for name, rule in rules.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))
        assert rule["state"] == "inactive", (name, rule["state"])


def test_autoscaler_metric_query_returns_queue_depth(scraped):
    """The Prometheus Adapter's metricsQuery (deploy/k8s/prometheus-adapter) with
    the test's labels for its template (one value per scraped instance)."""
    (rule,) = load_yaml_all(DEPLOY / "k8s" / "prometheus-adapter" / "rules.yaml")[0]["rules"]["custom"]
    series = re.match(r"(\w+)\{", rule["seriesQuery"]).group(1)
    expr = (rule["metricsQuery"].replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", 'job="lion-serve"').replace("<<.GroupBy>>", "instance"))
    result = scraped.query(expr)["data"]["result"]
    assert len(result) == 1 and float(result[0]["value"][1]) >= 0
