"""The private detectron2, torch and torchvision APIs of d2ext.utils.private_apis still exist and do what it expects."""
import torch
import torchvision
from detectron2.data import DatasetCatalog
from detectron2.engine import DefaultTrainer, SimpleTrainer
from detectron2.utils.events import EventStorage

from d2ext.checkpoint import SafeCheckpointer
from d2ext.utils import private_apis


def test_cpu_bf16_probe_answers():
    assert isinstance(private_apis.cpu_computes_bf16(), bool)


def test_coco_category_ids_are_detectron2s_order():
    ids = private_apis.coco_category_ids()
    assert len(ids) == 80 and ids[0] == 1 and ids[-1] == 90 and ids == sorted(ids)
    assert "coco_2017_val" in DatasetCatalog.list()


def test_mobilenet_v3_marks_its_downsampling_blocks():
    features = torchvision.models.mobilenet_v3_large(weights=None).features
    marked = [i for i, block in enumerate(features) if private_apis.is_downsampling_inverted_residual(block)]
    assert marked == [2, 4, 7, 13]


def test_simple_trainer_internals_run_a_step():
    class Model(torch.nn.Linear):
        def forward(self, batch):
            return {"loss": super().forward(batch).sum()}

    model = Model(2, 1)
    trainer = SimpleTrainer(model, [torch.ones(1, 2)] * 3, torch.optim.SGD(model.parameters(), lr=0.1))
    trainer.iter = 0
    with EventStorage() as storage:
        loss_dict = trainer.model(private_apis.next_batch(trainer))
        private_apis.write_step_metrics(trainer, loss_dict, 0.0)
        assert "total_loss" in storage.latest()


def test_trainer_attributes_that_d2ext_sets_are_read_by_detectron2():
    assert "_last_eval_results" in DefaultTrainer.train.__code__.co_names
    assert "_trainer" in DefaultTrainer.run_step.__code__.co_names
    for method in ("_load_file", "_torch_load", "_load_model"):
        assert hasattr(super(SafeCheckpointer, SafeCheckpointer), method)


def test_dropping_history_values_keeps_the_latest_and_the_global_average():
    with EventStorage() as storage:
        for iteration in range(10):
            storage.iter = iteration
            storage.put_scalar("loss", float(iteration))
        history = storage.history("loss")
        private_apis.drop_oldest_history_values(history, 3)
        assert history.values() == [(7.0, 7), (8.0, 8), (9.0, 9)] and history.global_avg() == 4.5
