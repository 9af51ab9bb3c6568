"""ClientApp: local training on an MNIST partition; HE and DP client mods from the run config."""

from ai4media_ext.apps.secure_fl import make_client_app

app = make_client_app()
