"""A real single-node Apache Kafka broker (KRaft) for development, tests and the demo.

The broker's jars come from Maven Central through the project's own ``pom.xml``
(``mvn dependency:copy-dependencies``); the broker runs on the installed Java, bound to
127.0.0.1 on free ports, with its data, configuration, log and state file under one folder.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import BrokerError

POM = Path(__file__).with_name("pom.xml")
LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
_BROKER_USER = "broker"


@dataclass(frozen=True)
class BrokerState:
    """What ``kafka status`` reports; persisted as ``broker.json`` beside the data."""

    pid: int
    port: int
    controller_port: int
    cluster_id: str

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); look at its state where /proc exists.
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            return stat.read_text().split(")", 1)[1].split()[0] != "Z"
    return True


_HEADER_SEPARATOR = "|"


@dataclass(frozen=True)
class ConsoleRecord:
    """One record as Kafka's console consumer printed it: ``headers<TAB>key<TAB>value``."""

    headers: dict[str, str]
    key: str
    value: str

    @classmethod
    def parse(cls, line: str) -> ConsoleRecord:
        headers, key, value = line.split("\t", 2)
        pairs = (h.split(":", 1) for h in headers.split(_HEADER_SEPARATOR) if ":" in h)
        return cls(headers={k: v for k, v in pairs}, key=key, value=value)


class LocalBroker:
    """Manage one local broker whose files live under ``root``.

    Args:
        root: folder for ``server.properties``, ``data/``, ``broker.log`` and ``broker.json``.
        lib_dir: folder of the broker's jars (fetched there when missing).
        heap: JVM heap size; the broker needs little for development loads.
    """

    def __init__(
        self,
        root: Path,
        lib_dir: Path | None = None,
        heap: str = "512m",
        scram_users: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.lib_dir = Path(lib_dir) if lib_dir else self.root / "lib"
        self.heap = heap
        # With SCRAM users the client listener is SASL_PLAINTEXT and refuses anonymous clients.
        self.scram_users = dict(scram_users or {})
        if self.scram_users:
            self.scram_users.setdefault(_BROKER_USER, _new_cluster_id())

    def client_options(self) -> dict[str, Any]:
        """kafka-python options for the broker's own admin connection."""
        if not self.scram_users:
            return {}
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_plain_username": _BROKER_USER,
            "sasl_plain_password": self.scram_users[_BROKER_USER],
        }

    # -- paths -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def state_file(self) -> Path:
        return self.root / "broker.json"

    @property
    def log_file(self) -> Path:
        return self.root / "broker.log"

    @property
    def properties_file(self) -> Path:
        return self.root / "server.properties"

    # -- jars --------------------------------------------------------------------------
    def _pom_digest(self) -> str:
        return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]

    def fetch(self, *, force: bool = False) -> Path:
        """Put the broker's jars in ``lib_dir`` with Maven, unless the same pom fetched them."""
        marker = self.lib_dir / ".pom-digest"
        if not force and marker.exists() and marker.read_text().strip() == self._pom_digest():
            return self.lib_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is needed to fetch the Kafka broker's jars")
        if self.lib_dir.exists():
            shutil.rmtree(self.lib_dir)
        self.lib_dir.mkdir(parents=True)
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={self.lib_dir.resolve()}",
            "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BrokerError(
                f"mvn could not fetch the broker: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        marker.write_text(self._pom_digest())
        return self.lib_dir

    def _java(self, *args: str, heap: str = "256m") -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("Java 17+ is needed to run the Kafka broker")
        return [
            java,
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            f"{self.lib_dir.resolve()}/*",
            *args,
        ]

    # -- state -------------------------------------------------------------------------
    def read_state(self) -> BrokerState | None:
        try:
            return BrokerState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def status(self) -> BrokerState | None:
        """The running broker's state, or None when it is not running."""
        state = self.read_state()
        if state and pid_alive(state.pid) and port_open(state.port):
            return state
        return None

    # -- lifecycle -----------------------------------------------------------------------
    def _listener_lines(self, port: int, controller_port: int) -> list[str]:
        name = "SASL_PLAINTEXT" if self.scram_users else "PLAINTEXT"
        lines = [
            f"listeners={name}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners={name}://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            f"listener.security.protocol.map={name}:{name},CONTROLLER:PLAINTEXT",
            f"inter.broker.listener.name={name}",
        ]
        if self.scram_users:
            password = self.scram_users[_BROKER_USER]
            lines += [
                "sasl.enabled.mechanisms=SCRAM-SHA-256",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
                "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{_BROKER_USER}" password="{password}";',
            ]
        return lines

    def _write_properties(self, port: int, controller_port: int) -> None:
        self.properties_file.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                    *self._listener_lines(port, controller_port),
                    f"log.dirs={self.data_dir.resolve()}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "log.retention.hours=168",
                    "",
                ]
            )
        )

    def _format(self, cluster_id: str) -> None:
        cmd = self._java(STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(self.properties_file))
        for user, password in self.scram_users.items():
            cmd += ["--add-scram", f"SCRAM-SHA-256=[name={user},password={password}]"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BrokerError(f"kafka-storage format failed: {proc.stdout}{proc.stderr}")

    def start(self, timeout_s: float = 60.0) -> BrokerState:
        """Start the broker (fetching and formatting on first use); return its state."""
        running = self.status()
        if running:
            return running
        self.fetch()
        self.root.mkdir(parents=True, exist_ok=True)
        previous = self.read_state()
        formatted = (self.data_dir / "meta.properties").exists()
        if (
            previous
            and formatted
            and not port_open(previous.port)
            and not port_open(previous.controller_port)
        ):
            port, controller_port, cluster_id = (
                previous.port,
                previous.controller_port,
                previous.cluster_id,
            )
        else:
            port, controller_port = free_port(), free_port()
            cluster_id = previous.cluster_id if previous and formatted else _new_cluster_id()
        self._write_properties(port, controller_port)
        if not formatted:
            self._format(cluster_id)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                self._java(MAIN_CLASS, str(self.properties_file), heap=self.heap),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        state = BrokerState(
            pid=proc.pid, port=port, controller_port=controller_port, cluster_id=cluster_id
        )
        self.state_file.write_text(json.dumps(asdict(state)))
        self._wait_ready(state, proc, timeout_s)
        return state

    def _wait_ready(
        self, state: BrokerState, proc: subprocess.Popen[bytes], timeout_s: float
    ) -> None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerError(f"the broker exited with {proc.returncode}; see {self.log_file}")
            if port_open(state.port):
                try:
                    admin = KafkaAdminClient(
                        bootstrap_servers=state.bootstrap_servers,
                        request_timeout_ms=5000,
                        **self.client_options(),
                    )
                    try:
                        if admin.describe_cluster().get("brokers"):
                            return
                    finally:
                        admin.close()
                except KafkaError:
                    pass
            time.sleep(0.3)
        self.stop()
        raise BrokerError(f"the broker was not ready after {timeout_s:.0f}s; see {self.log_file}")

    def stop(self, timeout_s: float = 30.0, *, kill: bool = False) -> bool:
        """Stop the broker's whole process group; True if one was running.

        ``kill`` sends SIGKILL at once: the broker dies without a clean shutdown, as in a
        crash (tests use it; the next start recovers its log).
        """
        state = self.read_state()
        if state is None or not pid_alive(state.pid):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state.pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and pid_alive(state.pid):
            _reap(state.pid)
            time.sleep(0.2)
        if pid_alive(state.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(state.pid, signal.SIGKILL)
        _reap(state.pid)
        return True

    def console_consumer(
        self, bootstrap: str, topic: str, max_messages: int, timeout_ms: int = 20000
    ) -> list[ConsoleRecord]:
        """Read a topic with Kafka's own Java console consumer (an independent client),
        committed records only, with their headers, keys and values."""
        cmd = self._java(
            CONSOLE_CONSUMER,
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            str(max_messages),
            "--timeout-ms",
            str(timeout_ms),
            "--property",
            "print.headers=true",
            "--property",
            f"headers.separator={_HEADER_SEPARATOR}",
            "--property",
            "print.key=true",
            "--property",
            "key.separator=\t",
            "--isolation-level",
            "read_committed",
        )
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=timeout_ms / 1000 + 60
        )
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        if proc.returncode != 0 and not lines:
            raise BrokerError(f"the console consumer failed: {proc.stderr[-2000:]}")
        return [ConsoleRecord.parse(line) for line in lines]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _new_cluster_id() -> str:
    """A Kafka-style id (URL-safe base64 of a UUID). Like Kafka's own ``Uuid.randomUuid`` it
    never starts with "-", which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
