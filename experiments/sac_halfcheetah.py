"""SAC on Gymnasium's own MuJoCo HalfCheetah-v5 through the Gymnasium bridge, 200k env steps, one
seed (issue 18: goal >= 3000 at 200k). CleanRL's sac_continuous_action settings where jaxrl has
them: 256x256 networks, batch 256, critic lr 1e-3, actor lr 3e-4, tau 0.005, automatic entropy
tuning, 5,000 random steps first; the buffer holds the whole run.

    python experiments/sac_halfcheetah.py     # about 40 minutes on one core here
"""
import time

import jaxrl

config = {"hidden": [256, 256], "buffer_capacity": 200_000, "batch_size": 256, "learning_starts": 5000}
hparams = {"learning_rate": 1e-3, "actor_learning_rate": 3e-4}
t = time.time()
r = jaxrl.train("sac", "gymnasium:HalfCheetah-v5", seeds=1, steps=200_000, config=config, hparams=hparams,
                progress=True, log_interval=10_000, until=None)
train_wall = time.time() - t
e = jaxrl.evaluate(r, episodes=10)
print(e.summary())
print("train_wall_s", train_wall, "train_seconds", r.train_seconds)
