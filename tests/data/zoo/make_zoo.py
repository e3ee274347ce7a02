"""Small members of the torchvision image families, exported as the classic PyTorch exporter
writes them (opset 17), with onnxruntime's outputs recorded next to each model.

    python tests/data/zoo/make_zoo.py [family ...]

Each family is written here with torchvision's layer structure and forward code (so the
exporter emits the same ops and shape arithmetic) at small widths and 32x32 inputs, with
random weights, so the files stay small. For each family NAME it
writes NAME.onnx, NAME_input.npy and NAME_output.npy (onnxruntime's answer).
"""
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _families():
    """Module builders with the structure of torchvision's families (same layers, same
    forward code paths as torchvision writes them), at small widths."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    def conv_bn(cin, cout, k, stride=1, groups=1, act=nn.ReLU6):
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        return nn.Sequential(*layers, act(inplace=True)) if act else nn.Sequential(*layers)

    class InvertedResidualV2(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = cin * expand
            self.use_res = stride == 1 and cin == cout
            layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
            layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                       conv_bn(hidden, cout, 1, act=None)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            setting = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2)]
            layers, cin = [conv_bn(3, 8, 3, 2)], 8
            for t, c, n, s in setting:
                for i in range(n):
                    layers.append(InvertedResidualV2(cin, c, s if i == 0 else 1, t))
                    cin = c
            layers.append(conv_bn(cin, 32, 1))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, num_classes))

        def forward(self, x):
            x = self.features(x)
            x = F.adaptive_avg_pool2d(x, (1, 1))
            return self.classifier(torch.flatten(x, 1))

    class SqueezeExcitation(nn.Module):
        def __init__(self, c, squeeze):
            super().__init__()
            self.fc1 = nn.Conv2d(c, squeeze, 1)
            self.fc2 = nn.Conv2d(squeeze, c, 1)

        def forward(self, x):
            s = F.adaptive_avg_pool2d(x, 1)
            s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
            return s * x

    class InvertedResidualV3(nn.Module):
        def __init__(self, cin, k, hidden, cout, se, act, stride):
            super().__init__()
            self.use_res = stride == 1 and cin == cout
            layers = [conv_bn(cin, hidden, 1, act=act)] if hidden != cin else []
            layers.append(conv_bn(hidden, hidden, k, stride, groups=hidden, act=act))
            if se:
                layers.append(SqueezeExcitation(hidden, max(8, hidden // 4)))
            layers.append(conv_bn(hidden, cout, 1, act=None))
            self.block = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.block(x) if self.use_res else self.block(x)

    class MobileNetV3(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            RE, HS = nn.ReLU, nn.Hardswish
            setting = [(8, 3, 8, 8, True, RE, 2), (8, 3, 24, 12, False, RE, 2),
                       (12, 5, 32, 16, True, HS, 2), (16, 5, 48, 16, True, HS, 1)]
            layers = [conv_bn(3, 8, 3, 2, act=HS)]
            for cin, k, hidden, cout, se, act, s in setting:
                layers.append(InvertedResidualV3(cin, k, hidden, cout, se, act, s))
            layers.append(conv_bn(16, 48, 1, act=HS))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Linear(48, 32), nn.Hardswish(inplace=True),
                                            nn.Dropout(0.2), nn.Linear(32, num_classes))

        def forward(self, x):
            x = F.adaptive_avg_pool2d(self.features(x), 1)
            return self.classifier(torch.flatten(x, 1))

    def channel_shuffle(x, groups):
        batchsize, num_channels, height, width = x.size()
        x = x.view(batchsize, groups, num_channels // groups, height, width)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(batchsize, num_channels, height, width)

    class ShuffleUnit(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.stride = stride
            branch = cout // 2
            if stride > 1:
                self.branch1 = nn.Sequential(
                    nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                    nn.BatchNorm2d(cin), nn.Conv2d(cin, branch, 1, bias=False),
                    nn.BatchNorm2d(branch), nn.ReLU(inplace=True))
            else:
                self.branch1 = nn.Sequential()
            c2 = cin if stride > 1 else branch
            self.branch2 = nn.Sequential(
                nn.Conv2d(c2, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(True),
                nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False),
                nn.BatchNorm2d(branch), nn.Conv2d(branch, branch, 1, bias=False),
                nn.BatchNorm2d(branch), nn.ReLU(True))

        def forward(self, x):
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return channel_shuffle(out, 2)

    class ShuffleNetV2(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.conv1 = conv_bn(3, 8, 3, 2, act=nn.ReLU)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            stages, cin = [], 8
            for repeats, cout in [(2, 16), (1, 32), (1, 48)]:
                units = [ShuffleUnit(cin, cout, 2)]
                units += [ShuffleUnit(cout, cout, 1) for _ in range(repeats - 1)]
                stages.append(nn.Sequential(*units))
                cin = cout
            self.stages = nn.Sequential(*stages)
            self.conv5 = conv_bn(cin, 64, 1, act=nn.ReLU)
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            x = self.conv5(self.stages(self.maxpool(self.conv1(x))))
            return self.fc(x.mean([2, 3]))

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x):
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class CNBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.pw1 = nn.Linear(dim, 4 * dim)
            self.pw2 = nn.Linear(4 * dim, dim)
            self.layer_scale = nn.Parameter(torch.rand(dim, 1, 1) + 0.5)

        def forward(self, x):
            y = self.dwconv(x).permute(0, 2, 3, 1)
            y = self.pw2(F.gelu(self.pw1(self.norm(y)))).permute(0, 3, 1, 2)
            return x + self.layer_scale * y

    class ConvNeXt(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, 4, 4), LayerNorm2d(16, eps=1e-6), CNBlock(16),
                LayerNorm2d(16, eps=1e-6), nn.Conv2d(16, 32, 2, 2), CNBlock(32))
            self.classifier = nn.Sequential(LayerNorm2d(32, eps=1e-6), nn.Flatten(1),
                                            nn.Linear(32, num_classes))

        def forward(self, x):
            return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1))

    class EncoderBlock(nn.Module):
        def __init__(self, dim, heads, mlp):
            super().__init__()
            self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
            self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(0.0),
                                     nn.Linear(mlp, dim), nn.Dropout(0.0))

        def forward(self, x):
            y = self.ln_1(x)
            y, _ = self.self_attention(y, y, y, need_weights=False)
            x = x + y
            return x + self.mlp(self.ln_2(x))

    class VisionTransformer(nn.Module):
        def __init__(self, num_classes=10, image=32, patch=8, dim=32, heads=2, mlp=64, layers=2):
            super().__init__()
            self.patch, self.dim = patch, dim
            self.conv_proj = nn.Conv2d(3, dim, patch, patch)
            self.class_token = nn.Parameter(torch.randn(1, 1, dim) * 0.1)
            seq = (image // patch) ** 2 + 1
            self.pos_embedding = nn.Parameter(torch.randn(1, seq, dim) * 0.02)
            self.layers = nn.Sequential(*[EncoderBlock(dim, heads, mlp) for _ in range(layers)])
            self.ln = nn.LayerNorm(dim, eps=1e-6)
            self.heads = nn.Linear(dim, num_classes)

        def forward(self, x):
            n, c, h, w = x.shape
            x = self.conv_proj(x)
            x = x.reshape(n, self.dim, (h // self.patch) * (w // self.patch)).permute(0, 2, 1)
            x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
            x = self.ln(self.layers(x + self.pos_embedding))
            return self.heads(x[:, 0])

    def shifted_window_attention(x, qkv_w, qkv_b, proj_w, proj_b, rpb, window, shift, heads,
                                 logit_scale=None):
        # torchvision's shifted_window_attention (no dropout): window padding, cyclic shift,
        # the shifted windows' attention mask built in place, relative bias; with a logit
        # scale (Swin V2) the k bias zeroed in a copy and cosine attention
        B, H, W, C = x.shape
        pad_r = (window[1] - W % window[1]) % window[1]
        pad_b = (window[0] - H % window[0]) % window[0]
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, pH, pW, _ = x.shape
        shift = shift.copy()
        if window[0] >= pH: shift[0] = 0
        if window[1] >= pW: shift[1] = 0
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        nw = (pH // window[0]) * (pW // window[1])
        x = x.view(B, pH // window[0], window[0], pW // window[1], window[1], C)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(B * nw, window[0] * window[1], C)
        if logit_scale is not None:
            qkv_b = qkv_b.clone()
            qkv_b[qkv_b.numel() // 3:2 * qkv_b.numel() // 3].zero_()
        qkv = F.linear(x, qkv_w, qkv_b)
        qkv = qkv.reshape(x.size(0), x.size(1), 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if logit_scale is not None:
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(logit_scale, max=math.log(100.0)).exp()
        else:
            q = q * (C // heads) ** -0.5
            attn = q.matmul(k.transpose(-2, -1))
        attn = attn + rpb
        if sum(shift) > 0:
            attn_mask = x.new_zeros((pH, pW))
            h_slices = ((0, -window[0]), (-window[0], -shift[0]), (-shift[0], None))
            w_slices = ((0, -window[1]), (-window[1], -shift[1]), (-shift[1], None))
            count = 0
            for h in h_slices:
                for w in w_slices:
                    attn_mask[h[0]:h[1], w[0]:w[1]] = count
                    count += 1
            attn_mask = attn_mask.view(pH // window[0], window[0], pW // window[1], window[1])
            attn_mask = attn_mask.permute(0, 2, 1, 3).reshape(nw, window[0] * window[1])
            attn_mask = attn_mask.unsqueeze(1) - attn_mask.unsqueeze(2)
            attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
            attn = attn.view(x.size(0) // nw, nw, heads, x.size(1), x.size(1))
            attn = attn + attn_mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, x.size(1), x.size(1))
        attn = F.softmax(attn, dim=-1)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
        x = F.linear(x, proj_w, proj_b)
        x = x.view(B, pH // window[0], pW // window[1], window[0], window[1], C)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, pH, pW, C)
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
        return x[:, :H, :W, :].contiguous()

    class Attn(nn.Module):
        def __init__(s, dim, window, shift, heads):
            super().__init__(); s.window, s.shift, s.heads = window, shift, heads
            s.qkv = nn.Linear(dim, dim * 3); s.proj = nn.Linear(dim, dim)
            s.table = nn.Parameter(torch.randn((2 * window[0] - 1) * (2 * window[1] - 1), heads) * 0.02)
            ch, cw = torch.meshgrid(torch.arange(window[0]), torch.arange(window[1]), indexing="ij")
            c = torch.flatten(torch.stack([ch, cw]), 1)
            rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0).contiguous()
            rel[:, :, 0] += window[0] - 1; rel[:, :, 1] += window[1] - 1; rel[:, :, 0] *= 2 * window[1] - 1
            s.register_buffer("index", rel.sum(-1).flatten())
        def forward(s, x):
            n = s.window[0] * s.window[1]
            rpb = s.table[s.index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
            return shifted_window_attention(x, s.qkv.weight, s.qkv.bias, s.proj.weight, s.proj.bias, rpb, s.window, s.shift, s.heads)

    class Block(nn.Module):
        def __init__(s, dim, heads, window, shift):
            super().__init__(); s.norm1 = nn.LayerNorm(dim); s.attn = Attn(dim, window, shift, heads)
            s.norm2 = nn.LayerNorm(dim); s.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        def forward(s, x):
            x = x + s.attn(s.norm1(x)); return x + s.mlp(s.norm2(x))

    class PatchMerging(nn.Module):
        def __init__(s, dim):
            super().__init__(); s.reduction = nn.Linear(4 * dim, 2 * dim, bias=False); s.norm = nn.LayerNorm(4 * dim)
        def forward(s, x):
            x0 = x[..., 0::2, 0::2, :]; x1 = x[..., 1::2, 0::2, :]; x2 = x[..., 0::2, 1::2, :]; x3 = x[..., 1::2, 1::2, :]
            return s.reduction(s.norm(torch.cat([x0, x1, x2, x3], -1)))

    class Swin(nn.Module):
        def __init__(s):
            super().__init__()
            s.patch = nn.Conv2d(3, 16, 4, 4); s.pnorm = nn.LayerNorm(16)
            s.b1 = Block(16, 2, [4, 4], [0, 0]); s.b2 = Block(16, 2, [4, 4], [2, 2]); s.merge = PatchMerging(16)
            s.norm = nn.LayerNorm(32); s.head = nn.Linear(32, 10)
        def forward(s, x):
            x = s.pnorm(s.patch(x).permute(0, 2, 3, 1))
            x = s.merge(s.b2(s.b1(x)))
            x = s.norm(x).permute(0, 3, 1, 2)
            return s.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    class AttnV2(Attn):
        # Swin V2's attention: the bias table is a small MLP over log-spaced relative
        # coordinates (16 * sigmoid of it), and a learned logit scale per head
        def __init__(s, dim, window, shift, heads):
            super().__init__(dim, window, shift, heads); del s.table
            s.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)) + 0.1 * torch.randn(heads, 1, 1))
            s.cpb_mlp = nn.Sequential(nn.Linear(2, 64), nn.ReLU(inplace=True), nn.Linear(64, heads, bias=False))
            ch = torch.arange(-(window[0] - 1), window[0], dtype=torch.float32) / (window[0] - 1)
            cw = torch.arange(-(window[1] - 1), window[1], dtype=torch.float32) / (window[1] - 1)
            t = torch.stack(torch.meshgrid([ch, cw], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0) * 8
            s.register_buffer("coords_table", torch.sign(t) * torch.log2(torch.abs(t) + 1.0) / 3.0)
        def forward(s, x):
            n = s.window[0] * s.window[1]
            table = s.cpb_mlp(s.coords_table).view(-1, s.heads)
            rpb = 16 * torch.sigmoid(table[s.index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0))
            return shifted_window_attention(x, s.qkv.weight, s.qkv.bias, s.proj.weight, s.proj.bias, rpb,
                                            s.window, s.shift, s.heads, s.logit_scale)

    class BlockV2(Block):
        def __init__(s, dim, heads, window, shift):
            super().__init__(dim, heads, window, shift); s.attn = AttnV2(dim, window, shift, heads)
        def forward(s, x):  # post-norm residuals
            x = x + s.norm1(s.attn(x)); return x + s.norm2(s.mlp(x))

    class PatchMergingV2(nn.Module):
        def __init__(s, dim):
            super().__init__(); s.reduction = nn.Linear(4 * dim, 2 * dim, bias=False); s.norm = nn.LayerNorm(2 * dim)
        def forward(s, x):
            H, W, _ = x.shape[-3:]
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
            x0 = x[..., 0::2, 0::2, :]; x1 = x[..., 1::2, 0::2, :]; x2 = x[..., 0::2, 1::2, :]; x3 = x[..., 1::2, 1::2, :]
            return s.norm(s.reduction(torch.cat([x0, x1, x2, x3], -1)))

    class SwinV2(nn.Module):
        def __init__(s):
            super().__init__()
            s.patch = nn.Conv2d(3, 16, 4, 4); s.pnorm = nn.LayerNorm(16)
            s.b1 = BlockV2(16, 2, [4, 4], [0, 0]); s.b2 = BlockV2(16, 2, [4, 4], [2, 2])
            s.merge = PatchMergingV2(16); s.b3 = BlockV2(32, 4, [4, 4], [2, 2])
            s.norm = nn.LayerNorm(32); s.head = nn.Linear(32, 10)
        def forward(s, x):
            x = s.pnorm(s.patch(x).permute(0, 2, 3, 1))
            x = s.b3(s.merge(s.b2(s.b1(x))))
            x = s.norm(x).permute(0, 3, 1, 2)
            return s.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    class MnasResidual(nn.Module):
        def __init__(s, cin, cout, k, stride, expand):
            super().__init__(); mid = cin * expand; s.res = cin == cout and stride == 1
            s.layers = nn.Sequential(conv_bn(cin, mid, 1, act=nn.ReLU), conv_bn(mid, mid, k, stride, mid, act=nn.ReLU),
                                     conv_bn(mid, cout, 1, act=None))
        def forward(s, x):
            return s.layers(x) + x if s.res else s.layers(x)

    class MNASNet(nn.Module):
        def __init__(s, num_classes=10):
            super().__init__()
            d = [8, 8, 8, 12, 16, 16, 24, 24]
            layers = [conv_bn(3, d[0], 3, 2, act=nn.ReLU), conv_bn(d[0], d[0], 3, 1, d[0], act=nn.ReLU),
                      conv_bn(d[0], d[1], 1, act=None)]
            for i, (k, stride, expand, repeats) in enumerate(
                    [(3, 2, 3, 2), (5, 2, 3, 2), (5, 2, 6, 2), (3, 1, 6, 1), (5, 2, 6, 2), (3, 1, 6, 1)]):
                layers += [MnasResidual(d[i + 1] if r == 0 else d[i + 2], d[i + 2], k, stride if r == 0 else 1, expand)
                           for r in range(repeats)]
            layers.append(conv_bn(d[7], 48, 1, act=nn.ReLU))
            s.layers = nn.Sequential(*layers)
            s.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True), nn.Linear(48, num_classes))
        def forward(s, x):
            return s.classifier(s.layers(x).mean([2, 3]))

    def bn_act(cin, cout, k, stride=1, groups=1, act=nn.GELU):
        # torchvision's Conv2dNormActivation with MaxViT's BatchNorm (eps 1e-3)
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(cout, eps=1e-3), act())

    class MBConv(nn.Module):
        def __init__(s, cin, cout, stride, expand=4, squeeze=0.25):
            super().__init__()
            proj = [nn.Conv2d(cin, cout, 1)] if stride != 1 or cin != cout else []
            s.proj = nn.Sequential(*([nn.AvgPool2d(3, stride, 1)] if stride == 2 else []), *proj)
            mid, sq = int(cout * expand), int(cout * squeeze)
            s.layers = nn.Sequential(nn.BatchNorm2d(cin, eps=1e-3), bn_act(cin, mid, 1),
                                     bn_act(mid, mid, 3, stride, mid), SqueezeExcite(mid, sq), nn.Conv2d(mid, cout, 1))
        def forward(s, x):
            return s.proj(x) + s.layers(x)

    class SqueezeExcite(nn.Module):  # torchvision.ops.SqueezeExcitation with SiLU
        def __init__(s, c, squeeze):
            super().__init__(); s.fc1 = nn.Conv2d(c, squeeze, 1); s.fc2 = nn.Conv2d(squeeze, c, 1)
        def forward(s, x):
            return torch.sigmoid(s.fc2(F.silu(s.fc1(F.adaptive_avg_pool2d(x, 1))))) * x

    class RelAttention(nn.Module):
        def __init__(s, dim, head_dim, seq):
            super().__init__()
            s.heads, s.head_dim, s.seq, size = dim // head_dim, head_dim, seq, int(math.sqrt(seq))
            s.to_qkv = nn.Linear(dim, dim * 3); s.merge = nn.Linear(dim, dim); s.scale = dim ** -0.5
            s.table = nn.Parameter(torch.randn((2 * size - 1) ** 2, s.heads) * 0.02)
            c = torch.flatten(torch.stack(torch.meshgrid([torch.arange(size)] * 2, indexing="ij")), 1)
            rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0).contiguous()
            rel[:, :, 0] += size - 1; rel[:, :, 1] += size - 1; rel[:, :, 0] *= 2 * size - 1
            s.register_buffer("index", rel.sum(-1))
        def forward(s, x):
            B, G, P, D = x.shape
            q, k, v = torch.chunk(s.to_qkv(x), 3, dim=-1)
            q, k, v = (t.reshape(B, G, P, s.heads, s.head_dim).permute(0, 1, 3, 2, 4) for t in (q, k, v))
            k = k * s.scale
            dot = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k)
            bias = s.table[s.index.view(-1)].view(s.seq, s.seq, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
            dot = F.softmax(dot + bias, dim=-1)
            out = torch.einsum("B G H I J, B G H J D -> B G H I D", dot, v)
            return s.merge(out.permute(0, 1, 3, 2, 4).reshape(B, G, P, D))

    class PartitionAttention(nn.Module):
        # MaxViT's window ("block") or grid partition attention over a [B, C, H, W] map
        def __init__(s, dim, head_dim, psize, kind, grid):
            super().__init__()
            parts = grid[0] // psize
            s.p, s.grid, s.grid_kind = (psize if kind == "window" else parts), grid, kind == "grid"
            s.attn = nn.Sequential(nn.LayerNorm(dim), RelAttention(dim, head_dim, psize ** 2), nn.Dropout(0.0))
            s.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(),
                                  nn.Linear(4 * dim, dim), nn.Dropout(0.0))
        def forward(s, x):
            P = s.p; gh, gw = s.grid[0] // P, s.grid[1] // P
            B, C, H, W = x.shape
            x = x.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 3, 5, 1)
            x = x.reshape(B, (H // P) * (W // P), P * P, C)
            if s.grid_kind: x = torch.swapaxes(x, -2, -3)
            x = x + s.attn(x); x = x + s.mlp(x)
            if s.grid_kind: x = torch.swapaxes(x, -2, -3)
            B, G, PP, C = x.shape
            x = x.reshape(B, gh, gw, P, P, C).permute(0, 5, 1, 3, 2, 4)
            return x.reshape(B, C, gh * P, gw * P)

    class MaxViT(nn.Module):
        def __init__(s, num_classes=10, stem=8, channels=(16, 32), head_dim=8, psize=4):
            super().__init__()
            s.stem = nn.Sequential(bn_act(3, stem, 3, 2), nn.Conv2d(stem, stem, 3, 1, 1))
            layers, cin, grid = [], stem, 16
            for cout in channels:
                grid = (grid - 1) // 2 + 1  # the first MBConv's stride
                layers += [MBConv(cin, cout, 2), PartitionAttention(cout, head_dim, psize, "window", (grid, grid)),
                           PartitionAttention(cout, head_dim, psize, "grid", (grid, grid))]
                cin = cout
            s.blocks = nn.Sequential(*layers)
            s.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(cin),
                                         nn.Linear(cin, cin), nn.Tanh(), nn.Linear(cin, num_classes, bias=False))
        def forward(s, x):
            return s.classifier(s.blocks(s.stem(x)))

    return {"mobilenet_v2": MobileNetV2, "mobilenet_v3": MobileNetV3,
            "shufflenet_v2": ShuffleNetV2, "convnext": ConvNeXt, "vit": VisionTransformer,
            "swin": Swin, "mnasnet": MNASNet, "swin_v2": SwinV2, "maxvit": MaxViT}


FAMILIES = ["mobilenet_v2", "mobilenet_v3", "shufflenet_v2", "convnext", "vit", "swin", "mnasnet",
            "swin_v2", "maxvit"]


def build(name, seed=0):
    """The family's module in eval mode, with seeded random weights (BatchNorm statistics
    too, so that folding them is exercised)."""
    import torch
    torch.manual_seed(seed)
    model = _families()[name]()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model.eval()


def export(name, path, batch=2, seed=0):
    """Writes the family's model to `path` and returns (input, onnxruntime output)."""
    import torch
    import onnxruntime as ort
    model = build(name, seed)
    x = np.random.default_rng(seed).standard_normal((batch, 3, 32, 32)).astype(np.float32)
    torch.onnx.export(model, (torch.from_numpy(x),), path, dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"input": x})[0]
    return x, y


def main(names):
    for name in names or FAMILIES:
        path = os.path.join(HERE, name + ".onnx")
        x, y = export(name, path)
        np.save(os.path.join(HERE, name + "_input.npy"), x)
        np.save(os.path.join(HERE, name + "_output.npy"), y)
        print(f"{name}: {os.path.getsize(path)} bytes, output {y.shape}")


if __name__ == "__main__":
    main(sys.argv[1:])
