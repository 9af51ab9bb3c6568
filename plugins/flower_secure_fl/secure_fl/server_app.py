"""ServerApp: HEFedAvg (keyless server) or FedAvg, chosen by the run config."""

from ai4media_ext.apps.secure_fl import make_server_app

app = make_server_app()
