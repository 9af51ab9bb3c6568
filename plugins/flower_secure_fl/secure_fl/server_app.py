"""ServerApp: HEFedAvg (keyless server) or FedAvg, chosen by the run config."""

from ai4media_ext.privacy.federated.app import make_server_app

app = make_server_app()
